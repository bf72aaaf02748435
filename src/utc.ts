// Imported first by main.ts, so that every module sees it, Nest's log time format included.
// The registry's timestamps are stored without a time zone on PostgreSQL, written and compared in
// the process's local time: every process sharing the database must use the same zone, or a
// sweeper in another one takes running uploads for abandoned ones. The server always runs in UTC.
process.env.TZ = 'UTC';

export {};
