import { describe, expect, it } from 'vitest';
import { modelDrift } from '../../src/migrations/generate.ts';
import {
  appModels,
  extractModelState,
  liveIndexReport,
  readModelState,
} from '../../src/migrations/model-state.ts';
import { jsonSchemaFor } from '../../src/migrations/render.ts';
import { migrateUp } from '../../src/migrations/runner.ts';
import { ALL_MIGRATIONS, quietRun, useMigrationDb } from './helpers.ts';

describe('the recorded model state (migrations/model-state.json)', { timeout: 120_000 }, () => {
  const t = useMigrationDb('state', 'describe');

  it('matches the models as they are (what check compares)', () => {
    expect(modelDrift(appModels())).toEqual([]);
  });

  it('has exactly the indexes the migration history builds', async () => {
    expect(await migrateUp(t.target, quietRun())).toEqual(ALL_MIGRATIONS);

    expect(await liveIndexReport(t.db, readModelState())).toEqual([]);
    expect(Object.keys(readModelState().collections)).toEqual([
      'follows',
      'posts',
      'presence',
      'tag_repairs',
      'tags',
      'users',
    ]);
  });

  it('records fields with type, required, default and enum, and indexes with their options', () => {
    const users = extractModelState(appModels()).collections.users;

    expect(users?.model).toBe('User');
    expect(users?.fields.username).toEqual({ type: 'String', required: true });
    expect(users?.fields.tokenVersion).toEqual({
      type: 'Number',
      required: true,
      default: { value: 0 },
    });
    expect(users?.fields.profile).toEqual({ type: 'Embedded', default: { value: {} } });
    expect(users?.fields['profile.aboutMe']).toEqual({ type: 'String' });
    expect(extractModelState(appModels()).collections.presence?.fields.lastSeen).toEqual({
      type: 'Date',
      required: true,
    });
    expect(users?.fields.createdAt).toEqual({ type: 'Date' });
    expect(users?.fields.__v).toBeUndefined();
    expect(users?.indexes).toEqual([
      { name: 'email_1', key: { email: 1 }, unique: true },
      { name: 'username_1', key: { username: 1 }, unique: true },
      { name: 'usernameKey_1', key: { usernameKey: 1 }, unique: true },
    ]);
    const posts = extractModelState(appModels()).collections.posts;
    expect(posts?.fields.timestamp).toEqual({
      type: 'Date',
      required: true,
      default: { computed: true },
    });
    expect(posts?.fields.tags).toEqual({ type: 'Array<String>', default: { value: [] } });
  });

  it('derives a $jsonSchema validator: types, required names, null for optional fields', () => {
    const users = extractModelState(appModels()).collections.users;
    if (!users) throw new Error('no users state');

    const { $jsonSchema: schema } = jsonSchemaFor(users);

    expect(schema.required).toEqual([
      'email',
      'passwordHash',
      'tokenVersion',
      'username',
      'usernameKey',
    ]);
    expect(schema.properties?.username).toEqual({ bsonType: 'string' });
    expect(schema.properties?.tokenVersion).toEqual({
      bsonType: ['double', 'int', 'long', 'decimal'],
    });
    expect(schema.properties?.profile?.properties?.aboutMe).toEqual({
      bsonType: ['string', 'null'],
    });
    expect(schema).not.toHaveProperty('additionalProperties');
  });
});
