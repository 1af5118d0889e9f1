'use strict';
// require('pm2/lib/API'): PM2's API class, the same as require('pm2').custom.

module.exports = require('./api');
