'use strict';

// CloudFormation resources generated from athena_queries/ at package time, as deploy/sql-manifest.json
// holds it (deploy/sql.js reads it; deploy/sql_manifest.py writes it):
//   tables/*.sql -> AWS::Glue::Table with partition projection on dt
//   saved/*.sql  -> AWS::Athena::NamedQuery in the stack's workgroup
//   views/*.sql  -> the Custom::AthenaViews resource (handlers/athena_setup.py runs the DDL; the SQL is
//                   in the resource's properties, so a changed view is a changed resource and re-runs)
// serverless.yml: `resources: - ${file(./deploy/athena.js):resources}`; deploy/iam.yml:
// `readStatements` for the functions that run saved queries, `readArns` for the view installer.

const crypto = require('crypto');
const sql = require('./sql');
const { params } = require('./config');

const PROJECTION = { type: 'date', format: 'yyyy-MM-dd' };
// serverless.yml, functions.athenaSetup.timeout (tests/test_deploy_template.py holds them equal).
const SETUP_TIMEOUT_SECONDS = 300;

function logicalId(prefix, name) {
  const camel = name
    .replace(/\.sql$/, '')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
  return `${prefix}${camel}`;
}

// Glue table properties: the SQL's, with the partition projection checked against the layout contract
// (dt, date, yyyy-MM-dd; Parquet under parquet/<table>/) and the range and location template set for
// this stack.
function tableParameters(table, config) {
  const properties = { ...table.properties };
  if (properties['projection.enabled'] !== 'true') {
    throw new sql.SqlError(`${table.source}: TBLPROPERTIES needs 'projection.enabled'='true'`);
  }
  for (const [key, expected] of Object.entries(PROJECTION)) {
    if (properties[`projection.dt.${key}`] !== expected) {
      throw new sql.SqlError(`${table.source}: TBLPROPERTIES needs 'projection.dt.${key}'='${expected}'`);
    }
  }
  const keys = table.partitionKeys.map((c) => `${c.Name} ${c.Type}`).join(', ');
  if (keys !== 'dt string') throw new sql.SqlError(`${table.source}: expected PARTITIONED BY (dt string), got ${keys}`);
  if (table.storedAs !== 'PARQUET') throw new sql.SqlError(`${table.source}: expected STORED AS PARQUET`);
  const location = `s3://\${bucket}/parquet/${table.name}/`;
  if (table.location !== location) {
    throw new sql.SqlError(`${table.source}: expected LOCATION '${location}', got '${table.location}'`);
  }
  delete properties['storage.location.template'];
  return {
    ...properties,
    EXTERNAL: 'TRUE',
    classification: 'parquet',
    'parquet.compression': properties['parquet.compression'] || 'SNAPPY',
    // The report dates still kept (deploy/config.js projectionRange): NOW-<N-1>DAYS,NOW with a retention,
    // else <earliestReportDate>,NOW. Athena lists every projected day a query does not filter out:
    // https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html#partition-projection-date-type
    'projection.dt.range': config.projectionRange,
    'projection.dt.interval': properties['projection.dt.interval'] || '1',
    'projection.dt.interval.unit': properties['projection.dt.interval.unit'] || 'DAYS',
    'storage.location.template': { 'Fn::Sub': `s3://\${DataBucket}/parquet/${table.name}/dt=\${!dt}/` },
  };
}

function glueTable(table, config) {
  return {
    Type: 'AWS::Glue::Table',
    Properties: {
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseName: { Ref: 'GlueDatabase' },
      TableInput: {
        Name: table.name,
        Description: `From ${table.source}.`,
        TableType: 'EXTERNAL_TABLE',
        Parameters: tableParameters(table, config),
        PartitionKeys: table.partitionKeys,
        StorageDescriptor: {
          Columns: table.columns,
          Location: { 'Fn::Sub': `s3://\${DataBucket}/parquet/${table.name}/` },
          InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          SerdeInfo: {
            SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
            Parameters: { 'serialization.format': '1' },
          },
        },
      },
    },
  };
}

// athena_queries/ placeholders: ${database} and ${projection_start} (the first day of the projection
// range, a date or NOW-<n>DAYS) are known at package time;
// ${bucket} makes the text an Fn::Sub (any other ${...} is escaped there as ${!...}).
function fill(text, config) {
  const filled = text
    .replace(/\$\{database\}/g, config.glueDatabase)
    .replace(/\$\{projection_start\}/g, config.projectionRange.split(',')[0]);
  if (!filled.includes('${bucket}')) return filled;
  return { 'Fn::Sub': filled.replace(/\$\{(?!bucket\})/g, '${!').replace(/\$\{bucket\}/g, '${DataBucket}') };
}

// A parameter as its `-- param` line declares it: `days integer 30: how far back ...`.
function parameterText({ name, type, default: value, description }) {
  const literal = type === 'varchar' ? `'${String(value).replace(/'/g, "''")}'` : String(value);
  return `${name} ${type} ${literal}: ${description}`;
}

// The console's description: the question, then the ? placeholders' parameters, in order.
function queryDescription(query) {
  const parameters = query.parameters.map(parameterText).join('; ');
  return (parameters ? `${query.question} Parameters, in order: ${parameters}` : query.question).slice(0, 1024);
}

function namedQuery(query, config) {
  return {
    Type: 'AWS::Athena::NamedQuery',
    Properties: {
      Name: query.name.slice(0, 128),
      Description: queryDescription(query),
      Database: { Ref: 'GlueDatabase' },
      WorkGroup: { Ref: 'AthenaWorkGroup' },
      QueryString: fill(query.sql, config),
    },
  };
}

// The views' DDL as Athena runs it: placeholders filled, in the manifest's order (each after the views
// it reads), each statement without the file's header comments (a statement that starts with a comment
// is not always recognised as DDL).
function viewsResource(views, tableIds, config) {
  const statements = views.map((view) => ({ Name: view.name, Sql: fill(view.sql, config) }));
  const digest = crypto.createHash('sha256');
  for (const view of statements) digest.update(`${view.Name}\0${JSON.stringify(view.Sql)}\0`);
  return {
    Type: 'Custom::AthenaViews',
    DependsOn: [...tableIds, 'AthenaSetupLogGroup'],
    Properties: {
      ServiceToken: { 'Fn::GetAtt': ['AthenaSetupLambdaFunction', 'Arn'] },
      // Seconds CloudFormation waits for the answer (default 3600): a little above the function's
      // timeout, so a function that dies unanswered fails the deploy in minutes, not in an hour.
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html
      ServiceTimeout: SETUP_TIMEOUT_SECONDS + 30,
      Database: { Ref: 'GlueDatabase' },
      WorkGroup: { Ref: 'AthenaWorkGroup' },
      SqlSha256: digest.digest('hex'),
      Views: statements,
    },
  };
}

async function resources(context) {
  const config = await params(context);
  const tables = sql.tables();
  const names = tables.map((t) => t.name);
  for (const required of ['records', 'reports']) {
    if (!names.includes(required)) {
      throw new sql.SqlError(`athena_queries/tables: the table ${required} is missing (found ${names.sort()})`);
    }
  }
  const Resources = {};
  const tableIds = [];
  for (const table of tables) {
    const id = logicalId('GlueTable', table.name);
    Resources[id] = glueTable(table, config);
    tableIds.push(id);
  }
  for (const query of sql.savedQueries()) Resources[logicalId('SavedQuery', query.name)] = namedQuery(query, config);
  const views = sql.views();
  if (views.length) Resources.AthenaViews = viewsResource(views, tableIds, config);
  return { Resources };
}

function glue(suffix) {
  return { 'Fn::Sub': `arn:\${AWS::Partition}:glue:\${AWS::Region}:\${AWS::AccountId}:${suffix}` };
}

function catalogueArns(config) {
  return {
    catalog: [glue('catalog'), glue(`database/${config.glueDatabase}`)],
    tables: sql // by name, as the views
      .tables()
      .map((table) => table.name)
      .sort()
      .map((name) => glue(`table/${config.glueDatabase}/${name}`)),
    views: sql // by name: a stable order, whatever the install order
      .views()
      .map((view) => view.name)
      .sort()
      .map((name) => glue(`table/${config.glueDatabase}/${name}`)),
  };
}

// Glue ARNs a reader (QuickSight) needs: the catalogue, the tables and the views, by name.
async function readArns(context) {
  const { catalog, tables, views } = catalogueArns(await params(context));
  return [...catalog, ...tables, ...views];
}

// IAM statements of a function that runs the saved queries (alerts, digest): queries in the stack's
// workgroup (awswrangler reads the workgroup's settings and the results), the catalogue read-only.
async function readStatements(context) {
  const { catalog, tables, views } = catalogueArns(await params(context));
  return [
    {
      Sid: 'RunQueriesInTheStackWorkgroup',
      Effect: 'Allow',
      Action: [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:GetQueryResults',
        'athena:StopQueryExecution',
        'athena:GetWorkGroup',
      ],
      Resource: {
        'Fn::Sub': 'arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${AthenaWorkGroup}',
      },
    },
    {
      // Athena looks up the query's database and `default`; with partition projection it reads no
      // partition from Glue, so no glue:GetPartitions
      // (https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html,
      // https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html)
      Sid: 'FindTheDatabase',
      Effect: 'Allow',
      Action: ['glue:GetDatabase'],
      Resource: [...catalog, glue('database/default')],
    },
    {
      Sid: 'ReadTheCatalogue',
      Effect: 'Allow',
      Action: ['glue:GetTable'],
      Resource: [...catalog, ...tables, ...views],
    },
  ];
}

module.exports = { resources, readStatements, readArns, logicalId, queryDescription };
