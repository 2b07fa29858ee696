// Runs business_rule.js outside ServiceNow (node), with stand-ins for the Glide APIs it uses,
// and prints the request it would send as JSON: {"endpoint", "method", "headers", "body"}.
// Used by tests/integration/test_itsm.py to send that request to a real broker.
//   BROKER_URL=https://127.0.0.1:8443 SECRET=... NUMBER=CHG0030001 node harness.js
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const sent = {headers: {}};
const record = {number: process.env.NUMBER, state: process.env.STATE || '3', approval: 'approved',
                sys_updated_on: '2026-11-23 19:00:00'};
const sandbox = {
  JSON, Math, Date, String,
  gs: {getProperty: (name) => ({'x_jitbroker.url': process.env.BROKER_URL,
                                'x_jitbroker.secret': process.env.SECRET})[name]},
  GlideStringUtil: {base64Encode: (s) => Buffer.from(s, 'utf8').toString('base64')},
  // ServiceNow's generateMac takes a base64 key and answers the MAC in base64.
  GlideCertificateEncryption: function () {
    this.generateMac = (key, alg, data) => {
      if (alg !== 'HmacSHA256') throw new Error('unexpected algorithm ' + alg);
      return crypto.createHmac('sha256', Buffer.from(key, 'base64')).update(data, 'utf8').digest('base64');
    };
  },
  sn_ws: {RESTMessageV2: function () {
    this.setEndpoint = (u) => { sent.endpoint = u; };
    this.setHttpMethod = (m) => { sent.method = m; };
    this.setRequestHeader = (k, v) => { sent.headers[k] = v; };
    this.setRequestBody = (b) => { sent.body = b; };
    this.executeAsync = () => { sent.executed = true; };
  }},
  current: {getTableName: () => 'change_request', getUniqueValue: () => 'c0ffee00c0ffee00c0ffee00c0ffee00',
            getValue: (f) => record[f]},
  previous: null,
};
vm.runInNewContext(fs.readFileSync(path.join(__dirname, 'business_rule.js'), 'utf8'), sandbox);
process.stdout.write(JSON.stringify(sent) + '\n');
