// A web process's PostgreSQL pool: 30 connections unless DB_POOL_MAX says otherwise
// (workers and scripts keep env.ts's 10). Every API call takes a connection for its
// token check and another for its read; with 10, 100 reads/s beside 200 live
// subscribers queued for the pool (chaos scenario h: reads p95 33 s; 66 ms with 30).
// Imported by server.js before the app, which reads its settings once.
if (!process.env.DB_POOL_MAX) process.env.DB_POOL_MAX = '30';
