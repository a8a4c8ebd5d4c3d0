'use strict';

// The digest's permission to send mail, generated because its resources are the addresses of the params
// (deploy/config.js digestIdentityArns: the sender, its domain, and the recipients, as SES identities).
// Emitted only when digestFrom is set, and then under the condition HasDigest (deploy/alerts.yml).
// serverless.yml: `resources: - ${file(./deploy/alerts.js):resources}`.

const { params } = require('./config');

async function resources(context) {
  const config = await params(context);
  if (!config.digestFrom) return { Resources: {} };
  return {
    Resources: {
      DigestSendPolicy: {
        Type: 'AWS::IAM::RolePolicy',
        Condition: 'HasDigest',
        Properties: {
          RoleName: { Ref: 'DigestRole' },
          PolicyName: 'digest-send',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                // SESv2 SendEmail with raw content is authorised as ses:SendRawEmail.
                Sid: 'SendTheDigestAsTheSender',
                Effect: 'Allow',
                Action: ['ses:SendEmail', 'ses:SendRawEmail'],
                Resource: config.digestIdentityArns,
              },
            ],
          },
        },
      },
    },
  };
}

module.exports = { resources };
