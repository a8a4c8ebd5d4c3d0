'use strict';

// One QuickSight dataset per view of athena_queries/views, generated at package time, created only when
// the quickSightPrincipal param is set (condition HasQuickSight, like the data source of quicksight.yml),
// the view's output columns with QuickSight types, shared with the same principal. What a dashboard
// costs is what Athena scans, so each dataset is bounded:
//   a view with a dt column (all but source_summary): DIRECT_QUERY over custom SQL that keeps the last
//     quickSightDays days (dt >= today - (days - 1)); dt is the tables' projected partition key, so
//     Athena reads only those days' partitions on each visual, and no SPICE capacity is paid for;
//   a view without dt (source_summary: one row per source over all time, it reads every partition by
//     design): SPICE, so the full scan happens once per import, not on every visual; refresh it from the
//     console or with `aws quicksight create-ingestion` (README, QuickSight).
// The columns come from deploy/sql-manifest.json (through deploy/sql.js), which deploy/sql_manifest.py
// writes by running the views' SQL (DuckDB); tests/test_deploy_manifest.py fails when it is stale, and
// packaging stops when a view has no columns there. Array and row columns are left out: QuickSight skips
// complex types.
// serverless.yml: `resources: - ${file(./deploy/quicksight.js):resources}`.

const sql = require('./sql');
const { params } = require('./config');
const { logicalId } = require('./athena');

// Athena type (as deploy/sql_manifest.py spells it) -> QuickSight input column type; null: not readable.
const TYPES = [
  [/^(VARCHAR|CHAR|STRING)\b/, 'STRING'],
  [/^(TINYINT|SMALLINT|INT|INTEGER|BIGINT)$/, 'INTEGER'],
  [/^(DOUBLE|REAL|FLOAT|DECIMAL)\b/, 'DECIMAL'],
  [/^(DATE|TIMESTAMP)\b/, 'DATETIME'],
  [/^BOOLEAN$/, 'BOOLEAN'],
  [/^(ARRAY|ROW|MAP|STRUCT)\b/, null],
];

function quickSightType(athenaType, where) {
  const text = String(athenaType).trim().toUpperCase();
  for (const [pattern, type] of TYPES) if (pattern.test(text)) return type;
  throw new sql.SqlError(`${where}: no QuickSight type for the Athena type ${athenaType}`);
}

// Ids QuickSight accepts in PhysicalTableMap / LogicalTableMap keys: [0-9a-zA-Z-].
const PHYSICAL_TABLE = 'athena-view';
const LOGICAL_TABLE = 'view';

const OWNER_ACTIONS = [
  'quicksight:DescribeDataSet',
  'quicksight:DescribeDataSetPermissions',
  'quicksight:PassDataSet',
  'quicksight:DescribeIngestion',
  'quicksight:ListIngestions',
  'quicksight:UpdateDataSet',
  'quicksight:DeleteDataSet',
  'quicksight:CreateIngestion',
  'quicksight:CancelIngestion',
  'quicksight:UpdateDataSetPermissions',
];

function inputColumns(view) {
  const where = `${view.source} (deploy/sql-manifest.json)`;
  const input = [];
  for (const [name, athenaType] of view.columns) {
    const type = quickSightType(athenaType, `${where} ${name}`);
    if (type) input.push({ Name: name, Type: type });
  }
  if (!input.length) throw new sql.SqlError(`${where}: no column QuickSight can read`);
  return input;
}

const DATA_SOURCE = { 'Fn::GetAtt': ['QuickSightDataSource', 'Arn'] };

// Pure (exported for tests): the Athena SQL of a dated view's dataset, its readable columns of the last
// `days` days (today included). dt is 'yyyy-MM-dd' text, so the cut-off is compared as text.
function recentSql(view, columns, { glueDatabase, quickSightDays }) {
  const names = columns.map((column) => `"${column.Name}"`).join(', ');
  const since = `date_format(date_add('day', -${quickSightDays - 1}, current_date), '%Y-%m-%d')`;
  return `SELECT ${names} FROM "${glueDatabase}"."${view.name}" WHERE dt >= ${since}`;
}

function physicalTable(view, config) {
  const columns = inputColumns(view);
  if (!view.columns.some(([name]) => name === 'dt')) {
    return {
      RelationalTable: {
        DataSourceArn: DATA_SOURCE,
        Catalog: 'AwsDataCatalog',
        Schema: { Ref: 'GlueDatabase' },
        Name: view.name,
        InputColumns: columns,
      },
    };
  }
  return {
    CustomSql: {
      DataSourceArn: DATA_SOURCE,
      Name: `${view.name}, last ${config.quickSightDays} days`.slice(0, 128),
      SqlQuery: recentSql(view, columns, config),
      Columns: columns,
    },
  };
}

function dataSet(view, config) {
  const dated = view.columns.some(([name]) => name === 'dt');
  return {
    Type: 'AWS::QuickSight::DataSet',
    Condition: 'HasQuickSight',
    DependsOn: ['AthenaViews'],
    Properties: {
      AwsAccountId: { Ref: 'AWS::AccountId' },
      DataSetId: `${config.prefix}-${view.name}`,
      Name: `DMARC ${view.name} (${config.stage})`,
      ImportMode: dated ? 'DIRECT_QUERY' : 'SPICE',
      PhysicalTableMap: { [PHYSICAL_TABLE]: physicalTable(view, config) },
      LogicalTableMap: {
        [LOGICAL_TABLE]: { Alias: view.name.slice(0, 64), Source: { PhysicalTableId: PHYSICAL_TABLE } },
      },
      Permissions: [{ Principal: { Ref: 'QuickSightPrincipal' }, Actions: OWNER_ACTIONS }],
    },
  };
}

// Pure (exported for tests): the dataset resources of `views` (deploy/sql.js's, with their columns).
function dataSets(views, config) {
  const Resources = {};
  for (const view of views) Resources[logicalId('QuickSightDataSet', view.name)] = dataSet(view, config);
  return Resources;
}

async function resources(context) {
  const config = await params(context);
  // By name, as the resources were always listed (the manifest is in install order).
  const byName = [...sql.views()].sort((a, b) => (a.name < b.name ? -1 : 1));
  return { Resources: dataSets(byName, config) };
}

function glue(suffix) {
  return { 'Fn::Sub': `arn:\${AWS::Partition}:glue:\${AWS::Region}:\${AWS::AccountId}:${suffix}` };
}

// The Glue ARNs the view installer (AthenaSetupRole, deploy/iam.yml) may write: the catalogue and the
// database (a table's ancestors, which Athena's DDL needs the same actions on:
// https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html) and exactly
// the views of athena_queries/views, by name; never a table.
async function viewArns(context) {
  const { glueDatabase } = await params(context);
  const names = sql.views().map((view) => view.name);
  return [
    glue('catalog'),
    glue(`database/${glueDatabase}`),
    ...names.sort().map((name) => glue(`table/${glueDatabase}/${name}`)),
  ];
}

// The Glue databases Athena looks up for a query or DDL statement in the stack's database: the stack's
// and `default` (same page, "Configure AWS Glue access to your catalog and database per AWS Region").
async function databaseArns(context) {
  const { glueDatabase } = await params(context);
  return [glue('catalog'), glue('database/default'), glue(`database/${glueDatabase}`)];
}

module.exports = { resources, dataSets, recentSql, quickSightType, viewArns, databaseArns, OWNER_ACTIONS };
