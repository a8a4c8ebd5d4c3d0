'use strict';

// Reads athena_queries/ at package time: the one source of the Glue tables, the views and the saved
// (named) queries. Small, strict parsers: anything they do not understand stops `serverless package`
// with the file name, rather than deploying something else than the SQL says.

const fs = require('fs');
const path = require('path');

const QUERIES = path.join(__dirname, '..', 'athena_queries');

class SqlError extends Error {}

function sqlFiles(kind) {
  const folder = path.join(QUERIES, kind);
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => ({ name, file: path.join(folder, name), text: fs.readFileSync(path.join(folder, name), 'utf8') }));
}

// Removes comments, keeping string literals (which may hold `--`) intact.
function stripComments(sql) {
  let out = '';
  for (let i = 0; i < sql.length; ) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (sql.startsWith('--', i)) {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
      out += ' ';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// The text inside the parenthesis that opens at `open`, and the index after its close.
function balanced(text, open, where) {
  let depth = 0;
  let quote = null;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (c === '(') {
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth === 0) return { inner: text.slice(open + 1, i), end: i + 1 };
    }
  }
  throw new SqlError(`${where}: unbalanced parenthesis`);
}

// Splits on commas outside (), <> and quotes.
function splitTopLevel(text) {
  const parts = [];
  let depth = 0;
  let quote = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
    } else if (c === '(' || c === '<') {
      depth++;
    } else if (c === ')' || c === '>') {
      depth--;
    } else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter(Boolean);
}

const unquote = (name) => name.replace(/^[`"]|[`"]$/g, '');

// Hive/Glue type text in Glue's canonical spelling: lowercase, no blanks.
function glueType(type) {
  return type.replace(/\s+/g, '').toLowerCase();
}

function parseColumns(body, where) {
  return splitTopLevel(body).map((definition) => {
    const match = /^([`"]?[A-Za-z_][A-Za-z0-9_]*[`"]?)\s+(.+?)(?:\s+COMMENT\s+'((?:[^']|'')*)')?$/is.exec(definition);
    if (!match) throw new SqlError(`${where}: cannot read column "${definition}"`);
    const column = { Name: unquote(match[1]).toLowerCase(), Type: glueType(match[2]) };
    if (match[3]) column.Comment = match[3].replace(/''/g, "'");
    return column;
  });
}

function parseProperties(body) {
  const properties = {};
  for (const pair of splitTopLevel(body)) {
    const match = /^'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'$/s.exec(pair);
    if (!match) throw new SqlError(`cannot read table property ${pair}`);
    properties[match[1]] = match[2].replace(/''/g, "'");
  }
  return properties;
}

// CREATE EXTERNAL TABLE [IF NOT EXISTS] [db.]name (columns) [COMMENT '..'] PARTITIONED BY (cols)
// [ROW FORMAT ...] STORED AS PARQUET LOCATION '...' TBLPROPERTIES (...)
function parseTable({ name: fileName, text }) {
  const sql = stripComments(text);
  const head = /CREATE\s+EXTERNAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:[`"]?[\w${}]+[`"]?\.)?([`"]?\w+[`"]?)\s*\(/i.exec(sql);
  if (!head) throw new SqlError(`tables/${fileName}: expected CREATE EXTERNAL TABLE name (...)`);
  const where = `tables/${fileName}`;
  const columns = balanced(sql, head.index + head[0].length - 1, where);
  const rest = sql.slice(columns.end);
  const partitioned = /PARTITIONED\s+BY\s*\(/i.exec(rest);
  const partitionKeys = partitioned
    ? parseColumns(balanced(rest, partitioned.index + partitioned[0].length - 1, where).inner, where)
    : [];
  const storedAs = /STORED\s+AS\s+(\w+)/i.exec(rest);
  if (!storedAs || storedAs[1].toUpperCase() !== 'PARQUET') throw new SqlError(`${where}: expected STORED AS PARQUET`);
  const location = /LOCATION\s+'([^']*)'/i.exec(rest);
  const tblproperties = /TBLPROPERTIES\s*\(/i.exec(rest);
  const properties = tblproperties
    ? parseProperties(balanced(rest, tblproperties.index + tblproperties[0].length - 1, where).inner)
    : {};
  return {
    name: unquote(head[1]).toLowerCase(),
    file: where,
    columns: parseColumns(columns.inner, where),
    partitionKeys,
    location: location ? location[1] : null,
    properties,
  };
}

function tables() {
  return sqlFiles('tables').map(parseTable);
}

// CREATE [OR REPLACE] VIEW [db.]name AS ...: the statement as written, without a trailing semicolon.
function views() {
  return sqlFiles('views').map(({ name, text }) => {
    const match = /CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:[`"]?[\w${}]+[`"]?\.)?([`"]?\w+[`"]?)\s+AS\b/i.exec(
      stripComments(text)
    );
    if (!match) throw new SqlError(`views/${name}: expected CREATE OR REPLACE VIEW name AS ...`);
    return { name: unquote(match[1]).toLowerCase(), file: `views/${name}`, sql: text.trim().replace(/;\s*$/, '') };
  });
}

// Saved queries start with a comment: `-- name: ...` and `-- question: ...` lines, or, without keys,
// the first comment line is the name and the following ones the description.
function savedQueries() {
  return sqlFiles('saved').map(({ name, text }) => {
    const header = [];
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (trimmed.startsWith('--')) header.push(trimmed.replace(/^--\s?/, '').trim());
      else if (trimmed) break;
    }
    const fields = {};
    const loose = [];
    const parameters = [];
    for (const line of header) {
      const match = /^(name|title|question|about|description)\s*:\s*(.*)$/i.exec(line);
      const parameter = /^param\s+(.*)$/i.exec(line);
      if (match) fields[match[1].toLowerCase()] = match[2].trim();
      else if (parameter) parameters.push(parameter[1].trim());
      else if (line) loose.push(line);
    }
    const title = fields.name || fields.title || loose.shift() || name.replace(/\.sql$/, '');
    let description = fields.question || fields.about || fields.description || loose.join(' ');
    // `-- param <name> <type> <default>: <meaning>` lines: the query's ? placeholders, in order.
    if (parameters.length) description += ` Parameters, in order: ${parameters.join('; ')}`;
    const sql = text.trim().replace(/;\s*$/, '');
    if (!stripComments(sql).trim()) throw new SqlError(`saved/${name}: no statement`);
    return { name: title.slice(0, 128), description: description.slice(0, 1024), file: `saved/${name}`, sql };
  });
}

module.exports = { tables, views, savedQueries, parseTable, stripComments, SqlError, QUERIES };
