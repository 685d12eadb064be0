/*
 * runner.js — drover's Node.js runner: runs a team's Sequelize .js migrations with the team's
 * own sequelize, one tenant at a time, for as long as drover keeps it, and previews them on
 * PostgreSQL in a transaction that is always rolled back (drover plan --sql). Protocol: one JSON
 * request per line on stdin, one JSON reply per line on stdout (see docs/noderunner.md).
 */
'use strict';

const path = require('path');
const readline = require('readline');
const { createRequire } = require('module');

let project = null;   // { Sequelize, cls, modules }
let sequelize = null; // the open tenant's instance
let dialect = null;
let statements = [];  // SQL logged by the current request
// Server versions by dialect://host:port, learnt from the first tenant there. Without one,
// every new Sequelize instance opens and closes an extra connection just to ask.
const serverVersions = new Map();

function fail(message, extra) {
  return Object.assign({ ok: false, error: { message } }, extra || {});
}

// loadProject requires sequelize (and cls-hooked when present) from the team's node_modules,
// as sequelize-cli resolves them from the project, never from drover's directory.
function loadProject(modules) {
  if (project && project.modules === modules) return null;
  const req = createRequire(path.join(modules, '..', '__drover_runner__.js'));
  let Sequelize;
  try {
    Sequelize = req('sequelize');
  } catch (e) {
    return `cannot load 'sequelize' from '${modules}': ${e.code || e.message}`;
  }
  let cls = null;
  try {
    cls = req('cls-hooked');
  } catch (e) {
    cls = null;
  }
  if (cls && !Sequelize._cls) Sequelize.useCLS(cls.createNamespace('drover-runner'));
  project = { Sequelize, cls, modules };
  return null;
}

// loadMigration requires the file by its absolute path: drover passes paths as the inventory
// gives them, possibly relative to drover's working directory, which the runner shares.
function loadMigration(file) {
  const mod = require(path.resolve(file));
  const m = mod && mod.default && typeof mod.up !== 'function' ? mod.default : mod;
  if (!m || typeof m.up !== 'function')
    throw new Error(`'${path.basename(file)}' does not export an up function`);
  return m;
}

async function opOpen(req) {
  const why = loadProject(req.modules);
  if (why) return fail(why, { phase: 'load' });
  if ((req.dialect === 'postgres' || req.dialect === 'sqlite') && !project.cls)
    return fail(`'cls-hooked' is not installed in '${req.modules}': drover needs it to run ` +
                `each migration and its SequelizeMeta row in one transaction`, { phase: 'load' });
  await closeTenant();
  const c = req.config || {};
  dialect = req.dialect;
  const server = `${req.dialect}://${c.host || ''}:${c.port || ''}`;
  const opts = {
    dialect: req.dialect === 'mysql' ? 'mysql' : req.dialect,
    databaseVersion: serverVersions.get(server) || 0,
    host: c.host || undefined,
    port: c.port || undefined,
    storage: req.dialect === 'sqlite' ? c.database : undefined,
    logging: (sql) => statements.push(sql.replace(/^Executing \([^)]*\): /, '')),
    pool: { max: 5, min: 0 },
  };
  sequelize = new project.Sequelize(req.dialect === 'sqlite' ? '' : c.database,
                                    c.user || null, c.password || null, opts);
  const onConnect = [];
  if (c.search_path) onConnect.push(`SET search_path TO ${c.search_path}`);
  // A preview's own transaction is read-write (SET TRANSACTION READ WRITE); whatever a
  // migration runs after ending it (COMMIT, ROLLBACK) starts a read-only one and cannot write.
  if (req.preview && req.dialect === 'postgres')
    onConnect.push('SET default_transaction_read_only = on');
  if (onConnect.length) {
    sequelize.addHook('afterConnect', async (conn) => {
      for (const sql of onConnect) await conn.query(sql);
    });
  }
  await sequelize.authenticate();
  if (req.dialect !== 'sqlite') serverVersions.set(server, sequelize.options.databaseVersion);
  return { ok: true };
}

async function closeTenant() {
  if (!sequelize) return;
  const s = sequelize;
  sequelize = null;
  await s.close().catch(() => {});
}

// runSection runs up or down and then the SequelizeMeta statement drover built. On postgres
// and sqlite both share one managed transaction that every queryInterface call joins through
// CLS; preview always rolls it back. MariaDB commits DDL implicitly, so there is none.
async function runSection(req) {
  const m = loadMigration(req.file);
  const fn = req.direction === 'down' ? m.down : m.up;
  if (typeof fn !== 'function')
    return fail(`'${path.basename(req.file)}' does not export a ${req.direction} function`);
  const qi = sequelize.getQueryInterface();
  const body = async () => {
    await fn.call(m, qi, project.Sequelize);
    if (req.meta_sql) await sequelize.query(req.meta_sql);
  };
  if (dialect === 'mysql') {
    await body();
    return { ok: true };
  }
  const rollback = new Error('drover preview rollback');
  try {
    await sequelize.transaction(async () => {
      await body();
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

async function previewItem(item) {
  if (item.file) {
    const m = loadMigration(item.file);
    await m.up.call(m, sequelize.getQueryInterface(), project.Sequelize);
  } else {
    for (const sql of item.sql || []) await sequelize.query(sql);
  }
  if (item.meta_sql) await sequelize.query(item.meta_sql);
}

// opPreview runs setup and every item in one transaction that is always rolled back, each
// item seeing what the earlier ones did; it stops at the first failure. Each result carries
// the statements Sequelize logged for that item.
async function opPreview(req) {
  if (dialect !== 'postgres') return fail('previews run on PostgreSQL only');
  const results = [];
  const rollback = new Error('drover preview rollback');
  try {
    await sequelize.transaction(async () => {
      for (const sql of PREVIEW_GUARD.concat(req.setup || [])) await sequelize.query(sql);
      for (const item of req.items || []) {
        const started = statements.length;
        try {
          await previewItem(item);
          results.push({ ok: true, statements: statements.slice(started) });
        } catch (e) {
          const res = dbError(e, 'run');
          res.statements = statements.slice(started);
          results.push(res);
          break;
        }
      }
      throw rollback;
    });
  } catch (e) {
    if (e !== rollback) return dbError(e, 'preview');
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
    createRequire(path.join(modules, '..', '__drover_runner__.js'))(driver);
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
  for (const f of req.files || []) {
    try {
      loadMigration(f);
    } catch (e) {
      return fail(`'${path.basename(f)}' cannot be loaded: ${e.message}`,
                  { phase: 'load', file: f });
    }
  }
  return { ok: true };
}

function dbError(e, phase) {
  const p = e.parent || e.original || e;
  const error = { message: String(p.message || e.message || e) };
  if (dialect === 'postgres' && typeof p.code === 'string') error.sqlstate = p.code;
  if (dialect === 'mysql' && typeof p.errno === 'number') error.errno = p.errno;
  if (p.sql || e.sql) error.sql = p.sql || e.sql;
  return { ok: false, error, phase };
}

async function handle(req) {
  statements = [];
  switch (req.op) {
    case 'check': return opCheck(req);
    case 'open': return opOpen(req);
    case 'run': {
      if (!sequelize) return fail('no tenant is open');
      const started = statements.length;
      try {
        const res = await runSection(req);
        res.statements = statements.slice(started);
        return res;
      } catch (e) {
        const res = dbError(e, 'run');
        res.statements = statements.slice(started);
        return res;
      }
    }
    case 'preview':
      if (!sequelize) return fail('no tenant is open');
      return opPreview(req);
    // Closing the pool takes a few ms of round trips that nobody needs to wait for: the
    // tenant's work is committed, and the next open builds a new instance.
    case 'close': closeTenant(); return { ok: true };
    default: return fail(`unknown op '${req.op}'`);
  }
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let res;
    try {
      res = await handle(JSON.parse(line));
    } catch (e) {
      res = dbError(e, 'internal');
    }
    process.stdout.write(JSON.stringify(res) + '\n');
  }
  await closeTenant();
}

main();
