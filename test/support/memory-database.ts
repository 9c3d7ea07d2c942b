import { DatabaseSync } from 'node:sqlite';
import { migrateDatabase } from '../../src/store/database.js';

/** An in-memory state database with the gateway's current schema. */
export function memoryDatabase(): DatabaseSync {
  const db = new DatabaseSync(':memory:');
  migrateDatabase(db);
  return db;
}
