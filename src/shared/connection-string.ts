import { ConnectionString, redactConnectionString } from 'mongodb-connection-string-url';

/** The host list, for messages: never the credentials. */
export function describeServer(uri: string): string {
  try {
    return new ConnectionString(uri).hosts.join(',');
  } catch {
    return '(unparsable connection string)';
  }
}

/**
 * Removes credentials from text that may quote a connection string: mongodump prints the full
 * URI, password included, when it cannot connect. The literal password is removed as well, in
 * case a tool prints it outside a URI.
 */
export function redactSecrets(text: string, uri?: string): string {
  let out = text.replace(/mongodb(\+srv)?:\/\/\S+/g, (match) => redactConnectionString(match));
  const password = uri ? passwordOf(uri) : undefined;
  if (password) {
    for (const form of new Set([password, encodeURIComponent(password)])) {
      out = out.split(form).join('<credentials>');
    }
  }
  return out;
}

function passwordOf(uri: string): string | undefined {
  try {
    const password = new ConnectionString(uri).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
