'use strict';
// A small structured logger in the style of winston's JSON console transport: one JSON object
// per line on stdout. It announces itself when the project loads it.
const write = (level, message, meta) =>
  process.stdout.write(JSON.stringify({ level, message, ...meta, at: 'migrations' }) + '\n');

write('info', 'logger ready');

module.exports = {
  info: (message, meta = {}) => write('info', message, meta),
  warn: (message, meta = {}) => write('warn', message, meta),
};
