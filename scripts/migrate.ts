/** `npm run migrate`: applies migrations (starting the embedded server when DATABASE_URL is unset). */
import { prepareDatabase } from './database';

const pg = await prepareDatabase((l) => console.log(l));
if (pg?.owned) await pg.stop();
