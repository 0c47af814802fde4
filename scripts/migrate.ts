/** `npm run migrate`: applies migrations (starting the embedded server when DATABASE_URL is unset). */
import { exitOnInvalidEnv } from '../src/lib/server/env';
import { prepareDatabase } from './database';

exitOnInvalidEnv();
const pg = await prepareDatabase();
if (pg?.owned) await pg.stop();
