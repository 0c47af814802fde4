// adapter-node reads BODY_SIZE_LIMIT (default 512 KB) once, when build/handler.js is
// evaluated, so this module must be imported before it. The CSV upload route
// (/api/imports) enforces its own UPLOAD_MAX_BYTES while streaming; an explicit
// BODY_SIZE_LIMIT in the environment still wins.
process.env.BODY_SIZE_LIMIT ??= 'Infinity';
