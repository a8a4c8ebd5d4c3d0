'use strict';

// One QuickSight dataset per view of athena_queries/views, generated at package time, created only when
// the quickSightPrincipal param is set (condition HasQuickSight, like the data source of quicksight.yml):
//   DIRECT_QUERY (QuickSight queries Athena on each visual: no SPICE capacity to pay for or refresh),
//   a RelationalTable over AwsDataCatalog.<glue database>.<view> through QuickSightDataSource,
//   the view's output columns with QuickSight types, shared with the same principal.
// The columns come from deploy/view-columns.json, which deploy/view_columns.py writes by running the views'
// SQL (DuckDB); tests/test_deploy_template.py fails when it is stale, and packaging stops when a view has
// no columns there. Array and row columns are left out: QuickSight skips complex types.
// serverless.yml: `resources: - ${file(./deploy/quicksight.js):resources}`.

const sql = require('./sql');
const { params } = require('./config');
const { logicalId } = require('./athena');
const viewColumns = require('./view-columns.json');

const REGENERATE = 'run `.venv/bin/python deploy/view_columns.py`';

// Athena type (as deploy/view_columns.py spells it) -> QuickSight input column type; null: not readable.
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

function inputColumns(view, columns) {
  const where = `views/${view.name} (deploy/view-columns.json)`;
  const input = [];
  for (const [name, athenaType] of columns) {
    const type = quickSightType(athenaType, `${where} ${name}`);
    if (type) input.push({ Name: name, Type: type });
  }
  if (!input.length) throw new sql.SqlError(`${where}: no column QuickSight can read`);
  return input;
}

function dataSet(view, columns, config) {
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
            InputColumns: inputColumns(view, columns),
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

// Pure (exported for tests): the dataset resources of `views` given the generated `columns` file.
function dataSets(views, columns, config) {
  const known = columns.views || {};
  const names = new Set(views.map((view) => view.name));
  const missing = views.filter((view) => !known[view.name]).map((view) => view.name);
  if (missing.length) {
    throw new sql.SqlError(`deploy/view-columns.json lacks the view(s) ${missing.join(', ')}: ${REGENERATE}`);
  }
  const extra = Object.keys(known).filter((name) => !names.has(name));
  if (extra.length) {
    throw new sql.SqlError(`deploy/view-columns.json names no longer existing views ${extra}: ${REGENERATE}`);
  }
  const Resources = {};
  for (const view of views) {
    Resources[logicalId('QuickSightDataSet', view.name)] = dataSet(view, known[view.name], config);
  }
  return Resources;
}

async function resources(context) {
  const config = await params(context);
  return { Resources: dataSets(sql.views(), viewColumns, config) };
}

module.exports = { resources, dataSets, quickSightType, OWNER_ACTIONS };
