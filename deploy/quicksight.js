'use strict';

// One QuickSight dataset per view of athena_queries/views, generated at package time, created only when
// the quickSightPrincipal param is set (condition HasQuickSight, like the data source of quicksight.yml):
//   DIRECT_QUERY (QuickSight queries Athena on each visual: no SPICE capacity to pay for or refresh),
//   a RelationalTable over AwsDataCatalog.<glue database>.<view> through QuickSightDataSource,
//   the view's output columns with QuickSight types, shared with the same principal.
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

function dataSet(view, config) {
  return {
    Type: 'AWS::QuickSight::DataSet',
    Condition: 'HasQuickSight',
    DependsOn: ['AthenaViews'],
    Properties: {
      AwsAccountId: { Ref: 'AWS::AccountId' },
      DataSetId: `${config.prefix}-${view.name}`,
      Name: `DMARC ${view.name} (${config.stage})`,
      ImportMode: 'DIRECT_QUERY',
      PhysicalTableMap: {
        [PHYSICAL_TABLE]: {
          RelationalTable: {
            DataSourceArn: { 'Fn::GetAtt': ['QuickSightDataSource', 'Arn'] },
            Catalog: 'AwsDataCatalog',
            Schema: { Ref: 'GlueDatabase' },
            Name: view.name,
            InputColumns: inputColumns(view),
          },
        },
      },
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

module.exports = { resources, dataSets, quickSightType, OWNER_ACTIONS };
