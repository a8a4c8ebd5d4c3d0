'use strict';

// Route 53 records, created only when the hostedZoneId param is set (condition HasHostedZone):
//   <receiving domain>  MX 10 inbound-smtp.<region>.amazonaws.com (a region where SES receives email:
//   deploy/config.js refuses any other, from dmarc_model/data/ses-receiving-regions.json)
//   <report domain>._report._dmarc.<receiving domain>  TXT "v=DMARC1"   (RFC 7489 section 7.1), for each
//   report domain outside the receiving domain
//   the three Easy DKIM CNAMEs that verify the receiving domain's SES identity (when the stack creates it).
// The same records as `dmarc dns` prints (dmarc_model/dns.py); tests/test_deploy_template.py holds
// the two together. The report domains' own _dmarc TXT records live in their zones: `dmarc dns` prints them.

const { params } = require('./config');

function logicalId(domain) {
  return `ReportAuthorisation${domain
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('')}`;
}

async function resources(context) {
  const config = await params(context);
  const Resources = {
    ReceivingMxRecord: {
      Type: 'AWS::Route53::RecordSet',
      Condition: 'HasHostedZone',
      Properties: {
        HostedZoneId: { Ref: 'HostedZoneId' },
        Name: `${config.receivingDomain}.`,
        Type: 'MX',
        TTL: '3600',
        ResourceRecords: [`10 ${config.mxTarget}.`],
      },
    },
  };
  for (const n of [1, 2, 3]) {
    Resources[`ReceivingDomainDkimRecord${n}`] = {
      Type: 'AWS::Route53::RecordSet',
      Condition: 'CreateIdentityRecords',
      Properties: {
        HostedZoneId: { Ref: 'HostedZoneId' },
        Name: { 'Fn::GetAtt': ['ReceivingDomainIdentity', `DkimDNSTokenName${n}`] },
        Type: 'CNAME',
        TTL: '3600',
        ResourceRecords: [{ 'Fn::GetAtt': ['ReceivingDomainIdentity', `DkimDNSTokenValue${n}`] }],
      },
    };
  }
  for (const domain of config.authorisedDomains) {
    Resources[logicalId(domain)] = {
      Type: 'AWS::Route53::RecordSet',
      Condition: 'HasHostedZone',
      Properties: {
        HostedZoneId: { Ref: 'HostedZoneId' },
        Name: `${domain}._report._dmarc.${config.receivingDomain}.`,
        Type: 'TXT',
        TTL: '3600',
        ResourceRecords: ['"v=DMARC1"'],
      },
    };
  }
  return { Resources };
}

module.exports = { resources };
