'use strict';
// require('pm2'): a ready-made API instance on the default PM2_HOME; the class is `.custom`.
// The API itself is lib/api.js. Programmatic use never prints.

process.env.PM2_PROGRAMMATIC = 'true';

const PM2 = require('./lib/api');

module.exports = new PM2();
module.exports.custom = PM2;
