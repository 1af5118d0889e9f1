'use strict';
// PM2_HOME and the files in it, as PM2 names them (its `paths` module's keys).

const os = require('os');
const path = require('path');

function defaultHome() {
  if (process.env.PM2_HOME) return process.env.PM2_HOME;
  let home = process.env.HOME;
  if (!home) {
    try {
      home = os.homedir();
    } catch {
      home = '';
    }
  }
  return home ? path.join(home, '.pm2') : '/etc/.pm2';
}

function pathsFor(home) {
  const file = (name) => path.join(home, name);
  const over = (key, fallback) => process.env[key] || fallback;
  return {
    PM2_HOME: home,
    PM2_ROOT_PATH: home,
    PM2_CONF_FILE: file('conf.js'),
    PM2_RELOAD_LOCKFILE: file('reload.lock'),
    DEFAULT_LOG_PATH: over('PM2_DEFAULT_LOG_PATH', file('logs')),
    DEFAULT_PID_PATH: file('pids'),
    DEFAULT_MODULE_PATH: file('modules'),
    PM2_LOG_FILE_PATH: over('PM2_LOG_FILE_PATH', file('pm2.log')),
    PM2_PID_FILE_PATH: over('PM2_PID_FILE_PATH', file('pm2.pid')),
    DUMP_FILE_PATH: over('PM2_DUMP_FILE_PATH', file('dump.pm2')),
    DUMP_BACKUP_FILE_PATH: file('dump.pm2.bak'),
    DAEMON_RPC_PORT: file('rpc.sock'),
    DAEMON_PUB_PORT: file('pub.sock'),
    PM2_MODULE_CONF_FILE: file('module_conf.json'),
  };
}

module.exports = { defaultHome, pathsFor };
