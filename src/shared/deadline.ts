/**
 * The promise's value, or `late()` when it has not settled within `ms`. Nothing here cancels the
 * promise: it runs on. For waits shorter than the driver's own bounds: in mongodb 7.8 an
 * operation's `timeoutMS` is a no-op (no client-side operation timeout is created), and the
 * socket timeout (MONGODB_SOCKET_TIMEOUT_MS; off where a caller does not set it) is one for all.
 */
export async function withinMs<T, L>(
  promise: Promise<T>,
  ms: number,
  late: () => L,
): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<L>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(late());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
