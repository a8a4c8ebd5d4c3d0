'use strict';

// The SQL of athena_queries/ as the deployment sees it: deploy/sql-manifest.json, which
// deploy/sql_manifest.py writes from the Python loader (athena_queries) and DuckDB. Nothing here reads
// SQL: the Glue tables' columns and properties, the views (in install order, with their output columns)
// and the saved queries come from the manifest as they are. A manifest that is missing, malformed or
// older than a .sql file of athena_queries/ (each entry holds its file's SHA-256) stops
// `serverless package` with the command that rewrites it.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const MANIFEST = path.join(__dirname, 'sql-manifest.json');
const QUERIES = path.join(__dirname, '..', 'athena_queries');
const REGENERATE = 'run `.venv/bin/python deploy/sql_manifest.py`';
// Manifest section -> folder of athena_queries/.
const SECTIONS = { tables: 'tables', views: 'views', saved_queries: 'saved' };

class SqlError extends Error {}

function checker(file) {
  const fail = (problem) => {
    throw new SqlError(`${file}: ${problem}: ${REGENERATE}`);
  };
  const string = (value, where) => {
    if (typeof value !== 'string') fail(`${where} is not a string`);
    return value;
  };
  const list = (value, where) => {
    if (!Array.isArray(value)) fail(`${where} is not a list`);
    return value;
  };
  const pairs = (value, where) =>
    list(value, where).map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) fail(`${where}[${i}] is not a [name, value] pair`);
      return [string(pair[0], `${where}[${i}][0]`), string(pair[1], `${where}[${i}][1]`)];
    });
  const lines = (value, where) => {
    const text = list(value, where)
      .map((line, i) => string(line, `${where}[${i}]`))
      .join('\n');
    if (!text.trim()) fail(`${where} is empty`);
    return text;
  };
  return { fail, string, list, pairs, lines };
}

function readManifest(manifest, file) {
  let text;
  try {
    text = fs.readFileSync(manifest, 'utf8');
  } catch (error) {
    const problem = error.code === 'ENOENT' ? 'is missing' : `cannot be read (${error.code || error.message})`;
    throw new SqlError(`${file} ${problem}: ${REGENERATE}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SqlError(`${file} is not JSON (${error.message}): ${REGENERATE}`);
  }
}

// Every .sql file of athena_queries/ must have its entry, with the file's current SHA-256.
function checkSources(entries, queries, fail) {
  const recorded = new Map(entries.map((entry) => [entry.source, entry.sha256]));
  const onDisk = [];
  for (const folder of Object.values(SECTIONS)) {
    const dir = path.join(queries, folder);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.sql') && !n.startsWith('.')).sort()) {
      const source = `athena_queries/${folder}/${name}`;
      onDisk.push(source);
      const digest = crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, name))).digest('hex');
      if (!recorded.has(source)) fail(`${source} is not in it`);
      if (recorded.get(source) !== digest) fail(`${source} changed since it was written`);
    }
  }
  const gone = [...recorded.keys()].filter((source) => !onDisk.includes(source));
  if (gone.length) fail(`it names files that no longer exist: ${gone.join(', ')}`);
}

// Pure but for reading the files (exported for tests): the manifest, checked, in the shapes athena.js
// and quicksight.js use.
function load({ manifest = MANIFEST, queries = QUERIES } = {}) {
  const file = manifest === MANIFEST ? 'deploy/sql-manifest.json' : manifest;
  const { fail, string, list, pairs, lines } = checker(file);
  const data = readManifest(manifest, file);
  if (!data || typeof data !== 'object' || Array.isArray(data)) fail('expected a JSON object');
  const entries = [];
  const section = (key, read) =>
    list(data[key], key).map((entry, i) => {
      const where = `${key}[${i}]`;
      if (!entry || typeof entry !== 'object') fail(`${where} is not an object`);
      const name = string(entry.name, `${where}.name`);
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) fail(`${where}.name "${name}" is not a plain lower-case name`);
      const source = string(entry.source, `${where}.source`);
      if (source !== `athena_queries/${SECTIONS[key]}/${name}.sql`) {
        fail(`${where}.source "${source}" is not the file of ${name}`);
      }
      entries.push({ source, sha256: string(entry.sha256, `${where}.sha256`) });
      return { name, source, ...read(entry, `${key}.${name}`) };
    });
  const columns = (value, where) => pairs(value, where).map(([Name, Type]) => ({ Name, Type }));
  const loaded = {
    tables: section('tables', (entry, where) => ({
      about: string(entry.about, `${where}.about`),
      columns: columns(entry.columns, `${where}.columns`),
      partitionKeys: columns(entry.partition_columns, `${where}.partition_columns`),
      storedAs: string(entry.stored_as, `${where}.stored_as`),
      location: string(entry.location, `${where}.location`),
      properties: Object.fromEntries(pairs(entry.properties, `${where}.properties`)),
    })),
    views: section('views', (entry, where) => ({
      about: string(entry.about, `${where}.about`),
      dependsOn: list(entry.depends_on, `${where}.depends_on`).map((other, i) =>
        string(other, `${where}.depends_on[${i}]`)
      ),
      columns: pairs(entry.columns, `${where}.columns`),
      sql: lines(entry.sql, `${where}.sql`),
    })),
    savedQueries: section('saved_queries', (entry, where) => ({
      question: string(entry.question, `${where}.question`),
      parameters: list(entry.parameters, `${where}.parameters`).map((parameter, i) => {
        const at = `${where}.parameters[${i}]`;
        const type = string(parameter && parameter.type, `${at}.type`);
        const expected = { integer: 'number', varchar: 'string' }[type];
        if (!expected) fail(`${at}.type "${type}" is not integer or varchar`);
        if (typeof parameter.default !== expected) fail(`${at}.default is not a ${type}`);
        return {
          name: string(parameter.name, `${at}.name`),
          type,
          default: parameter.default,
          description: string(parameter.description, `${at}.description`),
        };
      }),
      sql: lines(entry.sql, `${where}.sql`),
    })),
  };
  for (const [position, view] of loaded.views.entries()) {
    const earlier = loaded.views.slice(0, position).map((v) => v.name);
    const missing = view.dependsOn.filter((name) => !earlier.includes(name));
    if (missing.length) fail(`views.${view.name} comes before the views it reads (${missing.join(', ')})`);
  }
  checkSources(entries, queries, fail);
  return loaded;
}

let cached;
function loaded() {
  if (!cached) cached = load();
  return cached;
}

const tables = () => loaded().tables;
const views = () => loaded().views;
const savedQueries = () => loaded().savedQueries;

module.exports = { tables, views, savedQueries, load, SqlError, MANIFEST, QUERIES, REGENERATE };
