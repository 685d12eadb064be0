/*
 * runner.js — drover's Node.js runner: runs a team's Sequelize .js migrations with the team's
 * own sequelize, for as long as drover keeps it, and previews them on PostgreSQL in a
 * transaction that is always rolled back (drover plan --sql). It serves several tenants at once,
 * one per channel: drover hands it `--channels N` sockets as fds 3..3+N-1, and each is a
 * session of its own (one tenant at a time, one JSON request per line, answered there by output
 * events and one JSON reply; see docs/noderunner.md). A tenant's work is mostly waiting on its
 * database, so one Node process keeps several busy. stdout and stderr are the migrations': what
 * they print reaches drover as output events naming the tenant and the migration, on the
 * channel of the session that printed it, never as a reply.
 */
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const readline = require('readline');
const { AsyncLocalStorage } = require('async_hooks');
const { createRequire } = require('module');

// where: the session, tenant and migration that code runs for, carried through every promise
// and timer it starts, so output printed late is still put down to the migration that printed
// it, on its session's channel.
const where = new AsyncLocalStorage();

// Session: one channel of drover's and the tenant open on it.
class Session {
  constructor(fd) {
    this.channel = new net.Socket({ fd, readable: true, writable: true });
    // drover closing a channel with output still unread resets it: that ends the session too.
    this.channel.on('error', () => this.channel.destroy());
    this.sequelize = null; // the open tenant's instance
    this.tenant = null;    // its id, for output events
    this.dialect = null;
    this.statements = [];  // SQL logged by the current request
    this.tx = null;        // drover verify: the transaction kept open across requests
  }

  send(obj) {
    this.channel.write(JSON.stringify(obj) + '\n');
  }
}

const channelCount = Math.max(1, parseInt(process.argv[process.argv.indexOf('--channels') + 1], 10) || 1);
const sessions = Array.from({ length: channelCount }, (_, i) => new Session(3 + i));

function outputText(chunk, encoding) {
  if (typeof chunk === 'string') return chunk;
  return Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
}

function emitOutput(stream, text) {
  const w = where.getStore() || {};
  (w.session || sessions[0]).send({ event: 'output', stream, text, tenant: w.tenant || null,
                                    migration: w.migration || null });
}

// captureOutput turns every write to stdout and stderr (console.*, loggers such as winston,
// and fs writes to fd 1 and 2 as pino's sonic-boom does) into output events.
function captureOutput() {
  for (const [stream, name] of [[process.stdout, 'stdout'], [process.stderr, 'stderr']]) {
    stream.write = function (chunk, encoding, cb) {
      emitOutput(name, outputText(chunk, encoding));
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') process.nextTick(done);
      return true;
    };
  }
  const fdName = (fd) => (fd === 1 ? 'stdout' : fd === 2 ? 'stderr' : null);
  const writeSync = fs.writeSync;
  fs.writeSync = function (fd, buffer, ...rest) {
    const name = fdName(fd);
    if (!name) return writeSync.call(fs, fd, buffer, ...rest);
    const text = outputText(buffer, typeof rest[0] === 'string' ? rest[0] : rest[1]);
    emitOutput(name, text);
    return Buffer.byteLength(text);
  };
  const write = fs.write;
  fs.write = function (fd, buffer, ...rest) {
    const name = fdName(fd);
    if (!name) return write.call(fs, fd, buffer, ...rest);
    const cb = rest.pop();
    const text = outputText(buffer, typeof rest[0] === 'string' ? rest[0] : rest[1]);
    emitOutput(name, text);
    if (typeof cb === 'function') process.nextTick(cb, null, Buffer.byteLength(text), buffer);
  };
}
captureOutput();

// alsNamespace: the continuation-local context Sequelize's CLS support needs (Sequelize.useCLS
// takes a cls-hooked namespace), built on Node's own AsyncLocalStorage so that teams need not
// install cls-hooked: every queryInterface call then joins the transaction drover opened.
function alsNamespace() {
  const als = new AsyncLocalStorage();
  const ns = {
    name: 'drover-runner',
    get active() { return als.getStore() || null; },
    createContext() { return Object.create(als.getStore() || null); },
    run(fn) {
      const ctx = ns.createContext();
      als.run(ctx, () => fn(ctx));
      return ctx;
    },
    runAndReturn(fn) {
      let result;
      ns.run((ctx) => { result = fn(ctx); });
      return result;
    },
    runPromise(fn) { return ns.runAndReturn(fn); },
    get(key) {
      const ctx = als.getStore();
      return ctx ? ctx[key] : undefined;
    },
    set(key, value) {
      const ctx = als.getStore();
      if (!ctx) throw new Error('No context available. ns.run() or ns.bind() must be called first.');
      ctx[key] = value;
      return value;
    },
    bind(fn, context) {
      const ctx = context || als.getStore();
      if (!ctx) return fn;
      return function bound(...args) { return als.run(ctx, () => fn.apply(this, args)); };
    },
    bindEmitter() {},
    enter(ctx) { als.enterWith(ctx); },
    exit() {},
  };
  return ns;
}

// Shared by every session: the team's sequelize and the migration modules (require's cache).
let project = null;   // { Sequelize, modules, require: resolves as Sequelize does }
// Server versions by dialect://host:port, learnt from the first tenant there. Without one,
// every new Sequelize instance opens and closes an extra connection just to ask.
const serverVersions = new Map();

function fail(message, extra) {
  return Object.assign({ ok: false, error: { message } }, extra || {});
}

// loadProject requires sequelize from the team's node_modules, as sequelize-cli resolves it
// from the project, never from drover's directory. Dialect drivers are then resolved from
// sequelize's own (real) location, as Sequelize requires them: a node_modules whose sequelize
// is a link into a shared or hoisted folder finds its drivers there.
function loadProject(modules) {
  if (project && project.modules === modules) return null;
  const fromProject = createRequire(path.join(modules, '..', '__drover_runner__.js'));
  let Sequelize, main;
  try {
    main = fromProject.resolve('sequelize');
    Sequelize = fromProject('sequelize');
  } catch (e) {
    return `cannot load 'sequelize' from '${modules}': ${e.code || e.message}`;
  }
  if (!Sequelize._cls) Sequelize.useCLS(alsNamespace());
  project = { Sequelize, modules, require: createRequire(main) };
  return null;
}

// loadMigration requires the file by its absolute path: drover passes paths as the inventory
// gives them, possibly relative to drover's working directory, which the runner shares.
// Output while it loads (and from timers it starts) is the file's.
function loadMigration(file) {
  const mod = where.run({ migration: path.basename(file), ...where.getStore() },
                        () => require(path.resolve(file)));
  const m = mod && mod.default && typeof mod.up !== 'function' ? mod.default : mod;
  if (!m || typeof m.up !== 'function')
    throw new Error(`'${path.basename(file)}' does not export an up function`);
  return m;
}

async function opOpen(s, req) {
  const why = loadProject(req.modules);
  if (why) return fail(why, { phase: 'load' });
  await closeTenant(s);
  s.tenant = req.tenant || null;
  const c = req.config || {};
  s.dialect = req.dialect;
  const server = `${req.dialect}://${c.host || ''}:${c.port || ''}`;
  const opts = {
    dialect: req.dialect === 'mysql' ? 'mysql' : req.dialect,
    databaseVersion: serverVersions.get(server) || 0,
    host: c.host || undefined,
    port: c.port || undefined,
    storage: req.dialect === 'sqlite' ? c.database : undefined,
    logging: (sql) => s.statements.push(sql.replace(/^Executing \([^)]*\): /, '')),
    pool: { max: 5, min: 0 },
  };
  const sequelize = new project.Sequelize(req.dialect === 'sqlite' ? '' : c.database,
                                          c.user || null, c.password || null, opts);
  s.sequelize = sequelize;
  const onConnect = [];
  if (c.search_path) onConnect.push(`SET search_path TO ${c.search_path}`);
  // The environment's lock_timeout, as drover sets it on its own sessions for .sql files.
  if (c.lock_timeout_ms > 0 && req.dialect === 'postgres')
    onConnect.push(`SET lock_timeout = '${Math.floor(c.lock_timeout_ms)}ms'`);
  if (c.lock_timeout_ms > 0 && req.dialect === 'mysql') {
    const s = Math.max(1, Math.ceil(c.lock_timeout_ms / 1000));
    onConnect.push(`SET SESSION lock_wait_timeout = ${s}, SESSION innodb_lock_wait_timeout = ${s}`);
  }
  // The environment's statement_timeout, likewise; js_timeout bounds the whole section.
  if (c.statement_timeout_ms > 0 && req.dialect === 'postgres')
    onConnect.push(`SET statement_timeout = '${Math.floor(c.statement_timeout_ms)}ms'`);
  if (c.statement_timeout_ms > 0 && req.dialect === 'mysql')
    onConnect.push(`SET SESSION max_statement_time = ${c.statement_timeout_ms / 1000}`);
  // A preview's own transaction is read-write (SET TRANSACTION READ WRITE); whatever a
  // migration runs after ending it (COMMIT, ROLLBACK) starts a read-only one and cannot write.
  if (req.preview && req.dialect === 'postgres')
    onConnect.push('SET default_transaction_read_only = on');
  if (onConnect.length) {
    sequelize.addHook('afterConnect', async (conn) => {
      for (const sql of onConnect) await connQuery(s.dialect, conn, sql);
    });
  }
  await sequelize.authenticate();
  if (req.dialect !== 'sqlite') serverVersions.set(server, sequelize.options.databaseVersion);
  return { ok: true };
}

// connQuery runs a statement on a driver connection: pg answers with a promise, mysql2's
// callback API with a callback.
function connQuery(dialect, conn, sql) {
  if (dialect !== 'mysql') return conn.query(sql);
  return new Promise((resolve, reject) => conn.query(sql, (e) => (e ? reject(e) : resolve())));
}

// closeTenant closes the instance's pool, bounded: a pool a migration left busy must not keep
// the runner (and drover) waiting.
async function closeTenant(s) {
  if (!s.sequelize) return;
  const sequelize = s.sequelize;
  s.sequelize = null;
  if (s.tx) await s.tx.rollback().catch(() => {});
  s.tx = null;
  await Promise.race([sequelize.close().catch(() => {}),
                      new Promise((r) => setTimeout(r, 2000).unref())]);
}

class MigrationError extends Error {}

// A migration's process.exit() would end every tenant this runner serves at once. Under
// sequelize-cli it ends the CLI with that migration unrecorded; here it fails that migration
// only (rolled back where it ran in a transaction), and the runner goes on serving the others.
const exitProcess = process.exit.bind(process);
process.exit = function (code) {
  const w = where.getStore();
  if (!w || !w.migration) return exitProcess(code);
  throw new MigrationError(`the migration called process.exit(${code === undefined ? '' : code})`);
};

// callMigration calls up or down as umzug (sequelize-cli's runner) does: a function that returns
// no promise is refused, and nothing is recorded for it.
async function callMigration(sequelize, m, fn, file) {
  const ret = fn.call(m, sequelize.getQueryInterface(), project.Sequelize);
  if (!ret || typeof ret.then !== 'function')
    throw new MigrationError(`Migration ${path.basename(file)} (or wrapper) didn't return a promise`);
  await ret;
}

// joinTransactions makes a migration's own sequelize.transaction() (managed or not) a savepoint
// of the innermost transaction open around it, drover's included: a second connection would
// wait for the locks drover's transaction holds. Its commit then releases the savepoint, its
// rollback rolls back to it; the migration and its SequelizeMeta row still commit together.
function joinTransactions(sequelize, outer) {
  const own = Object.prototype.hasOwnProperty.call(sequelize, 'transaction');
  const saved = sequelize.transaction;
  const ns = project.Sequelize._cls;
  sequelize.transaction = function (options, autoCallback) {
    if (typeof options === 'function') {
      autoCallback = options;
      options = undefined;
    }
    const opts = Object.assign({}, options);
    if (!opts.transaction) opts.transaction = (ns && ns.get('transaction')) || outer;
    return saved.call(this, opts, autoCallback);
  };
  return () => {
    if (own) sequelize.transaction = saved;
    else delete sequelize.transaction;
  };
}

// pgTxid: the PostgreSQL transaction id, to tell whether the transaction drover opened is still
// the one running after a migration (a migration that runs COMMIT itself ends it).
async function pgTxid(sequelize) {
  const [rows] = await sequelize.query('SELECT txid_current()::text AS id');
  return rows[0].id;
}

// runSection runs up or down and then the SequelizeMeta statement drover built. On postgres
// and sqlite both share one managed transaction that every queryInterface call joins through
// CLS, unless drover asks for none (transaction: false, e.g. CREATE INDEX CONCURRENTLY);
// preview always rolls it back. MariaDB commits DDL implicitly, so there is none.
async function runSection(s, req) {
  const { sequelize, dialect } = s;
  const m = loadMigration(req.file);
  const fn = req.direction === 'down' ? m.down : m.up;
  if (typeof fn !== 'function')
    return fail(`'${path.basename(req.file)}' does not export a ${req.direction} function`);
  const body = async () => {
    await callMigration(sequelize, m, fn, req.file);
    if (req.meta_sql) await sequelize.query(req.meta_sql);
  };
  if (dialect === 'mysql' || req.transaction === false) {
    await body();
    return { ok: true };
  }
  const rollback = new Error('drover preview rollback');
  try {
    await sequelize.transaction(async (t) => {
      const before = dialect === 'postgres' ? await pgTxid(sequelize) : null;
      const restore = joinTransactions(sequelize, t);
      try {
        await callMigration(sequelize, m, fn, req.file);
      } finally {
        restore();
      }
      if (before !== null && (await pgTxid(sequelize)) !== before)
        throw Object.assign(new MigrationError('the migration ended the transaction drover ' +
          'opened for it (a COMMIT or ROLLBACK of its own): what it ran before that is ' +
          'committed'), { transactionEnded: true });
      if (req.meta_sql) await sequelize.query(req.meta_sql);
      if (req.preview) throw rollback;
    });
  } catch (e) {
    if (e !== rollback) throw e;
  }
  return { ok: true };
}

// PREVIEW_GUARD makes the preview transaction unable to commit: a deferred constraint trigger
// on a temporary table raises at COMMIT, so a migration that commits by itself gets an error and
// the transaction is rolled back. Everything here is temporary and rolled back with the rest.
const PREVIEW_GUARD = [
  'SET TRANSACTION READ WRITE',
  `CREATE FUNCTION pg_temp.drover_preview_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'drover preview: the migration tried to commit the preview transaction; it was rolled back';
END $$`,
  'CREATE TEMPORARY TABLE drover_preview_guard (x int)',
  'CREATE CONSTRAINT TRIGGER drover_preview_guard AFTER INSERT ON pg_temp.drover_preview_guard ' +
    'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.drover_preview_guard()',
  'INSERT INTO pg_temp.drover_preview_guard VALUES (1)',
];

async function previewItem(sequelize, item) {
  if (item.file) {
    const m = loadMigration(item.file);
    await m.up.call(m, sequelize.getQueryInterface(), project.Sequelize);
  } else {
    for (const sql of item.sql || []) await sequelize.query(sql);
  }
  if (item.meta_sql) await sequelize.query(item.meta_sql);
}

// Verify (drover verify, PostgreSQL): the session keeps ONE transaction open across requests,
// guarded as a preview's is (it cannot commit, and after a migration ends it nothing can
// write), and always ended by a rollback: begin opens it, sql and run (in_session) change the
// schema in it, query reads it, rollback ends it (close does too).
async function opBegin(s) {
  if (s.dialect !== 'postgres') return fail('a verify transaction runs on PostgreSQL only');
  if (s.tx) return fail('a verify transaction is already open');
  s.tx = await s.sequelize.transaction();
  for (const sql of PREVIEW_GUARD) await s.sequelize.query(sql, { transaction: s.tx });
  return { ok: true };
}

// inSessionTx runs fn where every queryInterface call joins the session's transaction (CLS).
function inSessionTx(s, fn) {
  const ns = project.Sequelize._cls;
  return ns.runPromise(() => {
    ns.set('transaction', s.tx);
    return fn();
  });
}

async function opSql(s, req) {
  if (!s.tx) return fail('no verify transaction is open');
  for (const sql of req.statements || []) await s.sequelize.query(sql, { transaction: s.tx });
  return { ok: true };
}

// opQuery answers the first column of every row, as text (null stays null).
async function opQuery(s, req) {
  if (!s.tx) return fail('no verify transaction is open');
  const rows = await s.sequelize.query(req.sql, { transaction: s.tx,
                                                  type: project.Sequelize.QueryTypes.SELECT });
  return { ok: true, rows: rows.map((r) => {
    const v = Object.values(r)[0];
    return v === null || v === undefined ? null : String(v);
  }) };
}

// runInSession runs a migration's up or down inside the session's transaction; a migration
// that ends that transaction itself is refused, as in runSection.
async function runInSession(s, req) {
  if (!s.tx) return fail('no verify transaction is open');
  const m = loadMigration(req.file);
  const fn = req.direction === 'down' ? m.down : m.up;
  if (typeof fn !== 'function')
    return fail(`'${path.basename(req.file)}' does not export a ${req.direction} function`);
  await inSessionTx(s, async () => {
    const before = await pgTxid(s.sequelize);
    const restore = joinTransactions(s.sequelize, s.tx);
    try {
      await callMigration(s.sequelize, m, fn, req.file);
    } finally {
      restore();
    }
    if ((await pgTxid(s.sequelize)) !== before)
      throw Object.assign(new MigrationError('the migration ended the transaction drover ' +
        'opened for it (a COMMIT or ROLLBACK of its own)'), { transactionEnded: true });
  });
  return { ok: true };
}

async function opRollback(s) {
  if (s.tx) await s.tx.rollback();
  s.tx = null;
  return { ok: true };
}

// opPreview runs setup and every item in one transaction that is always rolled back, each
// item seeing what the earlier ones did; it stops at the first failure. Each result carries
// the statements Sequelize logged for that item.
async function opPreview(s, req) {
  const { sequelize, statements } = s;
  if (s.dialect !== 'postgres') return fail('previews run on PostgreSQL only');
  const results = [];
  const rollback = new Error('drover preview rollback');
  try {
    await sequelize.transaction(async () => {
      for (const sql of PREVIEW_GUARD.concat(req.setup || [])) await sequelize.query(sql);
      for (const item of req.items || []) {
        const started = statements.length;
        try {
          await previewItem(sequelize, item);
          results.push({ ok: true, statements: statements.slice(started) });
        } catch (e) {
          const res = dbError(s.dialect, e, 'run');
          res.statements = statements.slice(started);
          results.push(res);
          break;
        }
      }
      throw rollback;
    });
  } catch (e) {
    if (e !== rollback) return dbError(s.dialect, e, 'preview');
  }
  return { ok: true, results };
}

const DRIVERS = { postgres: 'pg', mysql: 'mysql2', sqlite: 'sqlite3' };
const DIALECT_NAMES = { postgres: 'PostgreSQL', mysql: 'MariaDB/MySQL', sqlite: 'SQLite' };

// loadDriver requires the dialect's driver from the project as Sequelize will (a native one
// like sqlite3 fails here when its binding is missing or was built for another node).
function loadDriver(modules, dialect) {
  const driver = DRIVERS[dialect];
  if (!driver) return null;
  try {
    project.require(driver);
    return null;
  } catch (e) {
    const why = e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(`'${driver}'`)
      ? 'is not installed' : `cannot be loaded (${String(e.message).split('\n')[0]})`;
    return fail(`'${driver}' ${why} in '${modules}': Sequelize needs it for the ` +
                `${DIALECT_NAMES[dialect]} tenants`, { phase: 'load', driver });
  }
}

function opCheck(req) {
  const why = loadProject(req.modules);
  if (why) return fail(why, { phase: 'load' });
  for (const d of req.dialects || []) {
    const bad = loadDriver(req.modules, d);
    if (bad) return bad;
  }
  const downs = {};
  for (const f of req.files || []) {
    try {
      downs[f] = downKind(loadMigration(f));
    } catch (e) {
      return fail(`'${path.basename(f)}' cannot be loaded: ${e.message}`,
                  { phase: 'load', file: f });
    }
  }
  return { ok: true, downs };
}

// downKind tells drover, before a batch runs, whether a migration can be reverted: "missing"
// (no down function), "empty" (a down whose body does nothing, as `down: async () => {}`), or
// "code". What a down really does is proven after a revert, by comparing schema fingerprints.
function downKind(m) {
  if (typeof m.down !== 'function') return 'missing';
  const src = Function.prototype.toString.call(m.down)
    .replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  const arrow = src.match(/=>\s*([\s\S]*)$/);
  let body = arrow ? arrow[1].trim() : src.slice(src.indexOf('{')).trim();
  if (arrow && !body.startsWith('{'))
    return /^(undefined|null|Promise\.resolve\(\s*\))?;?$/.test(body) ? 'empty' : 'code';
  body = body.replace(/^\{/, '').replace(/\}$/, '').trim();
  return /^(return\s*(undefined|null|Promise\.resolve\(\s*\))?\s*;?)?$/.test(body) ? 'empty' : 'code';
}

// opProject reads a sequelize-cli project as sequelize-cli does (drover init): .sequelizerc in
// the project folder (its paths resolve against that folder, sequelize-cli's working directory),
// then the config file it names (default config/config.json; a .js config is evaluated). A
// password is never sent back: only whether there is one.
function opProject(req) {
  const dir = path.resolve(req.dir);
  process.chdir(dir);
  const rcFile = path.join(dir, '.sequelizerc');
  let rc = {};
  try {
    if (fs.existsSync(rcFile)) rc = require(rcFile) || {};
  } catch (e) {
    return fail(`'${rcFile}' cannot be loaded: ${e.message}`);
  }
  const configFile = path.resolve(dir, rc.config || path.join('config', 'config.json'));
  const migrations = path.resolve(dir, rc['migrations-path'] || 'migrations');
  let config;
  try {
    config = require(configFile);
  } catch (e) {
    return fail(`'${configFile}' cannot be loaded: ${e.code === 'MODULE_NOT_FOUND' ? 'no such file' : e.message}`);
  }
  if (config && config.default && typeof config.default === 'object') config = config.default;
  if (!config || typeof config !== 'object') return fail(`'${configFile}' does not export an object`);
  const envs = [];
  for (const [name, c] of Object.entries(config)) {
    if (!c || typeof c !== 'object') continue;
    envs.push({
      name,
      dialect: c.dialect || null,
      host: c.host || null,
      port: c.port ? Number(c.port) : null,
      database: c.database || null,
      username: c.username || null,
      has_password: c.password !== undefined && c.password !== null && c.password !== '',
      use_env_variable: c.use_env_variable || null,
      storage: c.storage ? path.resolve(dir, c.storage) : null,
      table: c.migrationStorageTableName || null,
      schema: c.migrationStorageTableSchema || null,
    });
  }
  return { ok: true, config: configFile, migrations, environments: envs };
}

function dbError(dialect, e, phase) {
  const p = e.parent || e.original || e;
  const error = { message: String(p.message || e.message || e) };
  if (dialect === 'postgres' && typeof p.code === 'string') error.sqlstate = p.code;
  if (dialect === 'mysql' && typeof p.errno === 'number') error.errno = p.errno;
  if (p.sql || e.sql) error.sql = p.sql || e.sql;
  const res = { ok: false, error, phase };
  if (e.transactionEnded) res.transaction_ended = true;
  return res;
}

// completedOf: how many of the logged statements finished. Sequelize logs a statement before
// it sends it, so the one that failed is logged too and must not count as run.
function completedOf(res, logged) {
  if (res.ok || !res.error || !res.error.sql || !logged.length) return logged.length;
  return logged[logged.length - 1] === res.error.sql.replace(/^Executing \([^)]*\): /, '')
    ? logged.length - 1 : logged.length;
}

async function handle(s, req) {
  s.statements = [];
  switch (req.op) {
    case 'check': return opCheck(req);
    case 'project': return opProject(req);
    case 'open': return opOpen(s, req);
    case 'run': {
      if (!s.sequelize) return fail('no tenant is open');
      let res;
      try {
        const section = req.in_session ? runInSession : runSection;
        res = await where.run({ session: s, tenant: s.tenant, migration: path.basename(req.file) },
                              () => section(s, req));
      } catch (e) {
        res = dbError(s.dialect, e, 'run');
      }
      res.statements = s.statements.slice();
      res.completed = completedOf(res, res.statements);
      return res;
    }
    case 'preview':
      if (!s.sequelize) return fail('no tenant is open');
      return opPreview(s, req);
    case 'begin':
    case 'sql':
    case 'query':
    case 'rollback': {
      if (!s.sequelize) return fail('no tenant is open');
      const op = { begin: opBegin, sql: opSql, query: opQuery, rollback: opRollback }[req.op];
      try {
        return await op(s, req);
      } catch (e) {
        return dbError(s.dialect, e, req.op);
      }
    }
    // Closing the pool takes a few ms of round trips that nobody needs to wait for: the
    // tenant's work is committed, and the next open builds a new instance.
    case 'close': closeTenant(s); return { ok: true };
    default: return fail(`unknown op '${req.op}'`);
  }
}

// serve answers one session's requests, in order, until drover closes its channel; the
// sessions run side by side, each waiting on its own tenant's database.
async function serve(s) {
  const rl = readline.createInterface({ input: s.channel, terminal: false });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let res;
    try {
      res = await where.run({ session: s }, () => handle(s, JSON.parse(line)));
    } catch (e) {
      res = dbError(s.dialect, e, 'internal');
    }
    s.send(res);
  }
  await closeTenant(s);
}

// main serves every channel until drover has closed them all, then exits: a pool, a timer or a
// socket that a migration left behind must not keep the runner alive.
async function main() {
  await Promise.all(sessions.map(serve));
  process.exit(0);
}

main();
