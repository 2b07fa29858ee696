/*
 * jitbroker trigger: a ServiceNow Business Rule that tells the broker a ticket changed.
 *
 * The broker treats this call only as a trigger: it reads the record again through the Table
 * API (with its own integration user) and applies what the Table API says, so this body
 * carries no authority. The call is signed so that nobody else can make the broker poll.
 *
 * Set up (System Definition > Business Rules, New):
 *   Table: Change Request [change_request]   (a second rule for sc_req_item if you use it)
 *   When: after, Update (check "Advanced"; async is fine)
 *   Condition: current.state.changes() || current.approval.changes() ||
 *              current.start_date.changes() || current.end_date.changes()
 *   Script: this file.
 * System properties:
 *   x_jitbroker.url     https://jitbroker.example.com:8443   (the broker's public_url)
 *   x_jitbroker.secret  the content of the broker's tickets.servicenow.notify_secret_file
 *                       (data_dir/servicenow.secret by default); type password2
 *
 * Signature: X-Jitbroker-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>,
 * the same envelope as the broker's own ticket events (docs/tickets.md, "Signed events"). generateMac answers in
 * base64, so it is turned into hex below.
 */
(function executeRule(current, previous /* null when async */) {
  function base64ToHex(b64) {
    var alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    var hex = '', bits = 0, value = 0;
    for (var i = 0; i < b64.length; i++) {
      var c = alphabet.indexOf(b64.charAt(i));
      if (c < 0) continue;  // '=' padding
      value = (value << 6) | c;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        var byte = (value >> bits) & 0xff;
        hex += (byte < 16 ? '0' : '') + byte.toString(16);
      }
    }
    return hex;
  }

  var url = gs.getProperty('x_jitbroker.url');
  var secret = gs.getProperty('x_jitbroker.secret');
  var body = JSON.stringify({
    table: current.getTableName(),
    sys_id: current.getUniqueValue(),
    number: current.getValue('number'),
    state: current.getValue('state'),
    approval: current.getValue('approval'),
    sys_updated_on: current.getValue('sys_updated_on')
  });
  var t = String(Math.floor(new Date().getTime() / 1000));
  var mac = new GlideCertificateEncryption().generateMac(
      GlideStringUtil.base64Encode(secret), 'HmacSHA256', t + '.' + body);

  var request = new sn_ws.RESTMessageV2();
  request.setEndpoint(url + '/v1/tickets/servicenow');
  request.setHttpMethod('POST');
  request.setRequestHeader('Content-Type', 'application/json');
  request.setRequestHeader('X-Jitbroker-Signature', 't=' + t + ',v1=' + base64ToHex(mac));
  request.setRequestBody(body);
  // The broker also reconciles every poll_interval, so a lost call delays, never loses, a
  // revocation.
  request.executeAsync();
})(current, previous);
