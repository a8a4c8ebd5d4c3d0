'use strict';

// The deploy parameters: defaults, validation and the values derived from them, in one place.
//
// Set any of them per deploy with `npx serverless deploy --param="name=value"` (repeat the flag), or
// per stage under `params:` in serverless.yml. serverless.yml reads the result as
// `${file(./deploy/config.js):params.<name>}`. Nothing here calls AWS: `serverless package` stays offline.

const layers = require('./pandas-layers.json');
// The regions where SES receives email: the one list, shared with dmarc_model/ses_regions.py (`dmarc dns`).
const sesReceiving = require('../dmarc_model/data/ses-receiving-regions.json');

const DEFAULTS = {
  // The domains whose DMARC reports this stack receives (comma-separated).
  reportDomains: 'example.com',
  // The rua address; its domain (a subdomain of yours, such as reports.example.com) gets the MX record.
  receivingAddress: 'dmarc@reports.example.com',
  // Route 53 hosted zone holding the receiving domain: when set, the stack creates the MX record and
  // the RFC 7489 section 7.1 authorisation records. Empty: publish them yourself (`dmarc dns`).
  hostedZoneId: '',
  // Create the SES identity of the receiving domain ('false' when it, or a parent domain, is verified
  // in SES already in this region).
  createDomainIdentity: 'true',
  // An existing, active SES receipt rule set to add our rule to. Empty: the stack creates its own set
  // (only one set is active per region: activate it once, see the README's Deploy section).
  existingRuleSet: '',
  // The receipt rule's TLS policy. 'true' (Require): SES bounces mail that arrives without TLS, so a
  // reporter whose servers do not use STARTTLS loses its reports. 'false' (Optional): such mail is
  // accepted in plain text as well. https://docs.aws.amazon.com/ses/latest/APIReference/API_ReceiptRule.html
  requireTls: 'true',
  // Retention, in days. retentionDays times every report's data by the report's date (dt, the UTC day
  // its period begins): its Parquet partition (deleted by the daily compact Lambda), its DynamoDB items
  // (TTL), the Athena projection and the dates ingest accepts; 0 keeps it all. The prefixes of raw
  // input go by object age, never longer than retentionDays when it is set (lifecycleRules below).
  retentionDays: '0',
  // The first report date accepted (older reports are refused, out-of-window) and, with retentionDays
  // 0, the first day of Athena's partition projection. DMARC's first specification is of January 2012,
  // so no real report is older than the default; set the first day of your data to list fewer empty
  // days (README, Data, Retention: what an unfiltered query lists).
  earliestReportDate: '2012-01-01',
  rawMailRetentionDays: '90', // s3://BUCKET/incoming/ (raw mail as SES stored it)
  quarantineRetentionDays: '180', // s3://BUCKET/quarantine/
  // s3://BUCKET/ruf-raw/: the raw mail of DMARC failure reports (personal data), moved out of incoming/
  // at ingest; its noncurrent versions go a day after (README, Hostile input).
  rufRawRetentionDays: '7',
  logRetentionDays: '30', // CloudWatch log groups
  athenaResultsRetentionDays: '7', // s3://BUCKET/athena-results/
  noncurrentVersionRetentionDays: '30', // overwritten or deleted S3 object versions
  // Alarm e-mail (SNS subscription to confirm). Empty: alarms still publish to the SNS topic.
  alarmEmail: '',
  // An SNS topic of yours (ARN) for the alarms: they publish there and the stack creates no topic of
  // its own (alarmEmail, if set, subscribes to it). Its policy must let cloudwatch.amazonaws.com
  // publish. With neither param set nobody hears an alarm: packaging warns, Output AlarmsDelivery says so.
  alarmTopicArn: '',
  // QuarantineAlarm: more input quarantined than this in a day (metric Quarantined of the ingest).
  quarantineAlarmThreshold: '10',
  // Alerts and the weekly digest (README, Deploy, Alerts on AWS): everything is off until an address is set.
  // alertEmail: subscribed to the alert topic (confirm the e-mail SNS sends). digestFrom: the digest's
  // sender, an SES-verified address or an address of a verified domain. Either one creates the alert
  // topic, the daily alerts schedule and the actions of PipelineAliveAlarm; digestFrom also the weekly
  // digest schedule and the digest's permission to send from it.
  alertEmail: '',
  digestFrom: '',
  // The digest's recipients (comma-separated). Empty: alertEmail.
  digestTo: '',
  // EventBridge Scheduler expressions, in UTC: the alerts after the day's reports (most reporters send
  // theirs in the hours after midnight UTC), the digest on Monday morning.
  alertsSchedule: 'cron(30 6 * * ? *)',
  digestSchedule: 'cron(0 7 ? * MON *)',
  // A few alert thresholds (DMARC_ALERT_*; dmarc_model/alerts/thresholds.py). Empty: the code's default.
  alertHeartbeatHours: '',
  alertNewUnknownMessages: '',
  alertBlockedMinMessages: '',
  alertReporterSilentDays: '',
  // The HTTPS reporting endpoint of RFC 8460 section 3 (README, Deploy, TLS reports over HTTPS): 'true'
  // creates the tlsUpload function and its public function URL, which stores each POSTed TLS report under
  // uploads/tlsrpt/ for the ingest. Off by default: TLS reports still arrive by mail (rua=mailto:).
  tlsReportingEndpoint: 'false',
  // The endpoint's throttle: its reserved concurrency (requests past it get 429 from the function URL).
  // Reserving takes from the account's unreserved pool, which must keep 10 (raise the quota first on a
  // new account, whose whole pool is 10).
  tlsReportingConcurrency: '2',
  // QuickSight user or group ARN to share the Athena data source with. Empty: no QuickSight resources.
  quickSightPrincipal: '',
  // The IAM role QuickSight uses to reach AWS services (its console, Security & permissions, names it):
  // the stack attaches the Athena read policy to it (deploy/quicksight.yml).
  quickSightServiceRole: 'aws-quicksight-service-role-v0',
  // How many days of reports the QuickSight datasets of dated views show (their SQL filters on dt, so
  // Athena reads only those partitions: deploy/quicksight.js).
  quickSightDays: '90',
  // AWS SDK for pandas layer. Empty: the 3.16.1 layer of the region and architecture (pandas-layers.json).
  pandasLayerArn: '',
  architecture: 'arm64',
  // Glue database. Empty: dmarc_<stage> (each character outside [a-z0-9] becomes _), one per stage.
  glueDatabase: '',
  // Athena per-query scan limit of the workgroup, in bytes (10 MiB at least).
  athenaBytesScannedCutoff: '1073741824',
  // Retain: `serverless remove` keeps the bucket and the table (and protects the table from deletion);
  // a deploy that fails and rolls back still deletes the bucket and the secret it had just created
  // (DeletionPolicy RetainExceptOnCreate: README, Deploy, When a deploy fails).
  // Delete: they go with the stack (the bucket must be empty first).
  dataDeletionPolicy: 'Retain',
  logLevel: 'INFO',
};

// CloudWatch Logs accepts only these retention values.
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

// Params that changed meaning: refused with what to use instead, never read the old way.
const RENAMED = {
  itemRetentionDays: 'use retentionDays, which now deletes the Parquet of a report too, by its date',
  projectionStartDate: 'use earliestReportDate, which also bounds the report dates ingest accepts',
};
const MIN_RETENTION_DAYS = 7; // reports arrive a day or more after their period begins

// Alert threshold params -> the settings they set (fields of dmarc_model.alerts.AlertThresholds).
const ALERT_THRESHOLDS = {
  alertHeartbeatHours: 'DMARC_ALERT_HEARTBEAT_HOURS',
  alertNewUnknownMessages: 'DMARC_ALERT_NEW_UNKNOWN_MESSAGES',
  alertBlockedMinMessages: 'DMARC_ALERT_BLOCKED_MIN_MESSAGES',
  alertReporterSilentDays: 'DMARC_ALERT_REPORTER_SILENT_DAYS',
};
const ADDRESS = /^[A-Za-z0-9._%+-]+@(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
// EventBridge Scheduler: cron(minutes hours day-of-month month day-of-week year) or rate(n unit).
const SCHEDULE = /^(cron\(\S+ \S+ \S+ \S+ \S+ \S+\)|rate\([1-9]\d* (minute|minutes|hour|hours|day|days)\))$/;

class ParamError extends Error {}

function fail(name, value, expected) {
  throw new ParamError(`param "${name}" = "${value}": ${expected}`);
}

function integer(name, value, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) fail(name, value, 'expected a whole number');
  const number = Number(text);
  if (number < min || number > max) fail(name, value, `expected ${min}..${max}`);
  return number;
}

function hostname(name, value) {
  const text = String(value).trim().toLowerCase().replace(/\.$/, '');
  if (!HOSTNAME.test(text)) fail(name, value, 'expected a domain name such as example.com');
  return text;
}

// Whether `domain` needs the external-destination authorisation record at `receivingDomain`
// (RFC 7489 section 7.1). Conservative: only the receiving domain itself and its parents are
// exempt; an unneeded authorisation record does no harm. dmarc_model/dns.py holds the same rule.
function needsAuthorisation(domain, receivingDomain) {
  return !(receivingDomain === domain || receivingDomain.endsWith(`.${domain}`));
}

function isoDate(name, value) {
  const text = String(value).trim();
  const parsed = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : new Date(NaN);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== text) {
    fail(name, value, 'expected a date YYYY-MM-DD');
  }
  return text;
}

// SES receives email in some regions only (sesReceiving.source): elsewhere the receipt rule set, and so
// the whole stack, would deploy and never see a report.
function checkRegion(region) {
  if (!Object.hasOwn(sesReceiving.regions, String(region))) {
    throw new ParamError(
      `region "${region}": Amazon SES does not receive email there; deploy to one of ` +
        `${Object.keys(sesReceiving.regions).join(', ')} (${sesReceiving.source})`
    );
  }
}

// The stage names the stack (<service>-<stage>), its functions and its bucket
// (<service>-<stage>-<account>-<region>): S3 bucket names take lowercase letters, digits and hyphens
// and at most 63 characters (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html),
// function names 64 (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html).
const LONGEST_FUNCTION = 'athenaSetup';
function checkStage(stage, { region, service }) {
  const longest = Math.min(
    63 - `${service}--123456789012-${region}`.length,
    64 - `${service}--${LONGEST_FUNCTION}`.length
  );
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(stage) || stage.length > longest) {
    throw new ParamError(
      `stage "${stage}": expected 1 to ${longest} lowercase letters, digits and hyphens, starting and ending ` +
        `with a letter or digit (it names the stack and the bucket ${service}-<stage>-<account>-${region})`
    );
  }
}

// The Glue database of a stage when the glueDatabase param is empty: two stages in one account and region
// never share one. Glue names are lowercase letters, digits and underscores.
function defaultGlueDatabase(stage) {
  return `dmarc_${stage.toLowerCase().replace(/[^a-z0-9]/g, '_')}`;
}

// Athena's projection.dt.range: the report dates still kept, no more (dmarc_store/retention.py says the
// same, and ReportWindow accepts exactly these dates). With a retention of N days, a range relative to
// today, NOW-<N-1>DAYS,NOW: it moves with the prune and lists at most N days. With N = 0 everything is
// kept, so the range must reach the oldest stored report: it starts at earliestReportDate, never at a
// relative date (NOW-<n>YEARS would hide kept reports as they age). Athena lists every projected day of
// a query without a dt filter, empty or not: set earliestReportDate to the first day of your data.
// The range syntax (a date, or NOW[+-]<n><unit>):
// https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html#partition-projection-date-type
// "a range that matches your data as closely as possible":
// https://docs.aws.amazon.com/athena/latest/ug/partition-projection-kinesis-firehose-example-using-the-date-type.html
function projectionRange(retentionDays, earliestReportDate) {
  return retentionDays ? `NOW-${retentionDays - 1}DAYS,NOW` : `${earliestReportDate},NOW`;
}

// The bucket's lifecycle, prefix by prefix (README, section Data: the retention table). parquet/ has no
// rule: it goes by the report's date, not by the age of a file (compaction rewrites files).
function lifecycleRules({ retentionDays, rawMail, quarantine, rufRaw, athenaResults, noncurrent }) {
  const capped = (days) => (retentionDays ? Math.min(days, retentionDays) : days);
  const expire = (Id, Prefix, ExpirationInDays) => ({ Id, Status: 'Enabled', Prefix, ExpirationInDays });
  return [
    expire('expire-raw-mail', 'incoming/', capped(rawMail)),
    ...(retentionDays ? [expire('expire-uploads', 'uploads/', retentionDays)] : []),
    expire('expire-quarantine', 'quarantine/', capped(quarantine)),
    {
      ...expire('expire-ruf-raw', 'ruf-raw/', capped(rufRaw)),
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    },
    expire('expire-athena-results', 'athena-results/', capped(athenaResults)),
    {
      Id: 'tidy-old-versions-and-uploads',
      Status: 'Enabled',
      NoncurrentVersionExpiration: { NoncurrentDays: noncurrent },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      ExpiredObjectDeleteMarker: true,
    },
  ];
}

function retention(p) {
  const retentionDays = integer('retentionDays', p.retentionDays);
  if (retentionDays && retentionDays < MIN_RETENTION_DAYS) {
    fail('retentionDays', p.retentionDays, `0 (keep everything) or at least ${MIN_RETENTION_DAYS}`);
  }
  const days = {
    retentionDays,
    rawMail: integer('rawMailRetentionDays', p.rawMailRetentionDays, { min: 1 }),
    quarantine: integer('quarantineRetentionDays', p.quarantineRetentionDays, { min: 1 }),
    rufRaw: integer('rufRawRetentionDays', p.rufRawRetentionDays, { min: 1, max: 90 }),
    athenaResults: integer('athenaResultsRetentionDays', p.athenaResultsRetentionDays, { min: 1 }),
    noncurrent: integer('noncurrentVersionRetentionDays', p.noncurrentVersionRetentionDays, { min: 1 }),
  };
  const earliestReportDate = isoDate('earliestReportDate', p.earliestReportDate);
  return {
    retentionDays,
    rufRawRetentionDays: days.rufRaw,
    earliestReportDate,
    projectionRange: projectionRange(retentionDays, earliestReportDate),
    lifecycleRules: lifecycleRules(days),
  };
}

function address(name, value) {
  const text = String(value).trim();
  if (text && !ADDRESS.test(text)) fail(name, value, 'an address such as owner@example.com');
  return text;
}

function schedule(name, value) {
  const text = String(value).trim();
  if (!SCHEDULE.test(text)) fail(name, value, 'a schedule such as cron(30 6 * * ? *) or rate(1 day)');
  const fields = text.startsWith('cron(') ? text.slice(5, -1).split(' ') : [];
  if (fields.length && fields[2] !== '?' && fields[4] !== '?') {
    fail(name, value, 'cron: day-of-month or day-of-week must be ?');
  }
  return text;
}

// The alerts and the digest: addresses, schedules, thresholds; the functions' environments and the
// SES identities the digest may send as (the sender, its domain, and the recipients: in the SES
// sandbox each recipient is an identity the sending is authorised against too).
function alerting(p, reportDomainsText) {
  const alertEmail = address('alertEmail', p.alertEmail);
  const digestFrom = address('digestFrom', p.digestFrom);
  const digestTo = String(p.digestTo || alertEmail)
    .split(',')
    .map((item) => address('digestTo', item))
    .filter(Boolean);
  if (digestFrom && !digestTo.length) fail('digestTo', p.digestTo, 'recipients (or alertEmail) with digestFrom');
  const thresholds = {};
  for (const [name, variable] of Object.entries(ALERT_THRESHOLDS)) {
    if (String(p[name]).trim() !== '') thresholds[variable] = String(integer(name, p[name]));
  }
  const identity = (value) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:identity/${value}`,
  });
  const identities = digestFrom
    ? [...new Set([digestFrom, digestFrom.split('@')[1], ...digestTo])].map(identity)
    : [];
  const topic = { 'Fn::If': ['AlertsEnabled', { Ref: 'AlertTopic' }, ''] };
  return {
    alertEmail,
    digestFrom,
    digestTo,
    alertsSchedule: schedule('alertsSchedule', p.alertsSchedule),
    digestSchedule: schedule('digestSchedule', p.digestSchedule),
    digestIdentityArns: identities,
    alertsEnvironment: { DMARC_ALERTS_TOPIC_ARN: topic, DMARC_DOMAINS: reportDomainsText, ...thresholds },
    digestEnvironment: {
      DMARC_DIGEST_FROM: digestFrom,
      DMARC_DIGEST_TO: digestTo.join(','),
      DMARC_DOMAINS: reportDomainsText,
    },
  };
}

// The receipt rule's TlsPolicy (deploy/resources.yml) from requireTls.
function tlsPolicy(p) {
  const required = String(p.requireTls).trim().toLowerCase();
  if (!['true', 'false'].includes(required)) fail('requireTls', p.requireTls, 'true or false');
  return required === 'true' ? 'Require' : 'Optional';
}

// The HTTPS reporting endpoint: on or off, and its reserved concurrency (deploy/tls_upload.yml).
function tlsReporting(p) {
  const enabled = String(p.tlsReportingEndpoint).trim().toLowerCase();
  if (!['true', 'false'].includes(enabled)) fail('tlsReportingEndpoint', p.tlsReportingEndpoint, 'true or false');
  return {
    tlsReportingEndpoint: enabled,
    tlsReportingConcurrency: integer('tlsReportingConcurrency', p.tlsReportingConcurrency, { min: 1, max: 100 }),
  };
}

// Where the alarms go (deploy/monitoring.yml): the stack's AlarmTopic, or the topic alarmTopicArn names
// (then no topic is created: condition CreateAlarmTopic). `alarmTopic` is the one action every alarm
// names. CloudWatch alarm actions:
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Acting_Alarm_Changes.html
function alarming(p, alarmEmail) {
  const alarmTopicArn = String(p.alarmTopicArn).trim();
  if (alarmTopicArn && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(alarmTopicArn)) {
    fail('alarmTopicArn', alarmTopicArn, 'a standard SNS topic ARN such as arn:aws:sns:eu-west-1:111122223333:ops');
  }
  return {
    alarmTopicArn,
    alarmTopic: { 'Fn::If': ['CreateAlarmTopic', { Ref: 'AlarmTopic' }, { Ref: 'AlarmTopicArn' }] },
    alarmsUnheard: !alarmEmail && !alarmTopicArn,
    quarantineAlarmThreshold: integer('quarantineAlarmThreshold', p.quarantineAlarmThreshold),
  };
}

function parseCliParams(option) {
  const result = {};
  for (const pair of [].concat(option || [])) {
    const at = String(pair).indexOf('=');
    if (at < 1) throw new ParamError(`--param "${pair}": expected name=value`);
    result[pair.slice(0, at).trim()] = pair.slice(at + 1);
  }
  return result;
}

// Pure: raw values in, validated and derived values out (exported for tests through `node -e`).
function resolveParams(raw, { stage, region, service }) {
  for (const name of Object.keys(raw).filter((key) => key in RENAMED)) {
    throw new ParamError(`param "${name}" is gone: ${RENAMED[name]}`);
  }
  const unknown = Object.keys(raw).filter((name) => !(name in DEFAULTS));
  if (unknown.length) throw new ParamError(`unknown param(s): ${unknown.join(', ')}`);
  const p = { ...DEFAULTS, ...raw };
  checkRegion(region);
  checkStage(stage, { region, service });

  const reportDomains = String(p.reportDomains)
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => hostname('reportDomains', d));
  if (!reportDomains.length) fail('reportDomains', p.reportDomains, 'expected at least one domain');

  const address = String(p.receivingAddress).trim().toLowerCase();
  const at = address.lastIndexOf('@');
  if (at < 1 || !/^[a-z0-9._+-]+$/.test(address.slice(0, at))) {
    fail('receivingAddress', p.receivingAddress, 'expected an address such as dmarc@reports.example.com');
  }
  const receivingDomain = hostname('receivingAddress', address.slice(at + 1));

  const architecture = String(p.architecture).trim();
  if (!['arm64', 'x86_64'].includes(architecture)) fail('architecture', architecture, 'arm64 or x86_64');

  let pandasLayerArn = String(p.pandasLayerArn).trim();
  if (!pandasLayerArn) {
    pandasLayerArn = (layers.arns[region] || {})[architecture];
    if (!pandasLayerArn) {
      throw new ParamError(
        `no AWS SDK for pandas ${layers.awswrangler} layer known for ${region}/${architecture}: ` +
          'pass --param="pandasLayerArn=arn:aws:lambda:..."'
      );
    }
  } else if (!/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/.test(pandasLayerArn)) {
    fail('pandasLayerArn', pandasLayerArn, 'expected a layer version ARN');
  }

  const logRetentionDays = integer('logRetentionDays', p.logRetentionDays, { min: 1 });
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    fail('logRetentionDays', p.logRetentionDays, `one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }
  const dataDeletionPolicy = String(p.dataDeletionPolicy).trim();
  if (!['Retain', 'Delete'].includes(dataDeletionPolicy)) {
    fail('dataDeletionPolicy', dataDeletionPolicy, 'Retain or Delete');
  }
  const kept = retention(p);
  const glueDatabase = String(p.glueDatabase).trim() || defaultGlueDatabase(stage);
  if (!/^[a-z0-9_]{1,255}$/.test(glueDatabase)) fail('glueDatabase', glueDatabase, 'lowercase [a-z0-9_]');
  const logLevel = String(p.logLevel).trim().toUpperCase();
  if (!['DEBUG', 'INFO', 'WARNING', 'ERROR'].includes(logLevel)) fail('logLevel', logLevel, 'a log level');
  const alarmEmail = String(p.alarmEmail).trim();
  if (alarmEmail && !/^[^@\s]+@[^@\s]+$/.test(alarmEmail)) fail('alarmEmail', alarmEmail, 'an address');
  const alarms = alarming(p, alarmEmail);
  const quickSightPrincipal = String(p.quickSightPrincipal).trim();
  if (quickSightPrincipal && !/^arn:aws[a-z-]*:quicksight:/.test(quickSightPrincipal)) {
    fail('quickSightPrincipal', quickSightPrincipal, 'a QuickSight user or group ARN');
  }
  const quickSightServiceRole = String(p.quickSightServiceRole).trim();
  if (!/^[\w+=,.@-]{1,64}$/.test(quickSightServiceRole)) {
    fail('quickSightServiceRole', quickSightServiceRole, 'an IAM role name (no path)');
  }
  const quickSightDays = integer('quickSightDays', p.quickSightDays, { min: 1, max: 3660 });
  const hostedZoneId = String(p.hostedZoneId).trim();
  if (hostedZoneId && !/^Z[A-Z0-9]{1,31}$/.test(hostedZoneId)) fail('hostedZoneId', hostedZoneId, 'a zone id');
  const createDomainIdentity = String(p.createDomainIdentity).trim().toLowerCase();
  if (!['true', 'false'].includes(createDomainIdentity)) fail('createDomainIdentity', createDomainIdentity, 'true or false');
  const existingRuleSet = String(p.existingRuleSet).trim();
  if (existingRuleSet && !/^[A-Za-z0-9_.-]{1,64}$/.test(existingRuleSet)) {
    fail('existingRuleSet', existingRuleSet, 'a receipt rule set name');
  }

  const prefix = `${service}-${stage}`;
  return {
    stage,
    region,
    prefix,
    reportDomains,
    reportDomainsText: reportDomains.join(','),
    receivingAddress: address,
    receivingDomain,
    authorisedDomains: reportDomains.filter((d) => needsAuthorisation(d, receivingDomain)),
    mxTarget: `inbound-smtp.${region}.amazonaws.com`,
    hostedZoneId,
    createDomainIdentity,
    existingRuleSet,
    ruleSetName: existingRuleSet || `${prefix}-receipts`,
    ruleName: `${prefix}-store-reports`,
    tlsPolicy: tlsPolicy(p),
    ...kept,
    ...alerting(p, reportDomains.join(',')),
    ...tlsReporting(p),
    logRetentionDays,
    alarmEmail,
    ...alarms,
    quickSightPrincipal,
    quickSightServiceRole,
    quickSightDays,
    pandasLayerArn,
    architecture,
    pipPlatformArch: architecture === 'arm64' ? 'aarch64' : 'x86_64',
    glueDatabase,
    athenaBytesScannedCutoff: integer('athenaBytesScannedCutoff', p.athenaBytesScannedCutoff, {
      min: 10 * 1024 * 1024,
    }),
    dataDeletionPolicy,
    // DeletionPolicy of the bucket and the secret: kept on `serverless remove`, deleted when the stack
    // operation that created them rolls back (their fixed names would stop the next deploy). The
    // table keeps Retain: see deploy/resources.yml, DataTable.
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
    dataDeletionPolicyExceptOnCreate: dataDeletionPolicy === 'Retain' ? 'RetainExceptOnCreate' : 'Delete',
    deletionProtection: dataDeletionPolicy === 'Retain',
    logLevel,
    workGroup: prefix,
    // Environment values are strings.
    env: {
      DMARC_RETENTION_DAYS: String(kept.retentionDays),
      DMARC_EARLIEST_REPORT_DATE: kept.earliestReportDate,
      DMARC_RUF_RAW_RETENTION_DAYS: String(kept.rufRawRetentionDays),
    },
  };
}

let cached;

// serverless: `${file(./deploy/config.js):params.<name>}`.
async function params({ options, resolveConfigurationProperty, resolveVariable }) {
  if (!cached) {
    cached = (async () => {
      const stage = await resolveVariable('sls:stage');
      const region = await resolveConfigurationProperty(['provider', 'region']);
      const service = await resolveConfigurationProperty(['service']);
      const declared = (await resolveConfigurationProperty(['params'])) || {};
      const raw = {
        ...(declared.default || {}),
        ...(declared[stage] || {}),
        ...parseCliParams(options.param),
      };
      const resolved = resolveParams(raw, { stage, region, service });
      if (resolved.alarmsUnheard) {
        process.emitWarning(
          'no alarm subscriber: set --param="alarmEmail=..." or --param="alarmTopicArn=..." ' +
            '(README, Deploy, Alarms); the alarms publish to a topic nobody reads',
          { code: 'DMARC_NO_ALARM_SUBSCRIBER' }
        );
      }
      return resolved;
    })();
  }
  return cached;
}

module.exports = {
  params,
  resolveParams,
  needsAuthorisation,
  projectionRange,
  defaultGlueDatabase,
  DEFAULTS,
  ParamError,
};
