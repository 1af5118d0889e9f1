'use strict';
// require('pm2/paths'): (PM2_HOME?) → the PM2_HOME layout (PM2_HOME, logs, pids,
// sockets, dump, pm2.log, module_conf.json), the default home when none is given.

const { defaultHome, pathsFor } = require('./lib/home_layout');

module.exports = function paths(pm2Home) {
  return pathsFor(pm2Home || defaultHome());
};
