'use strict';
// require('pm2/constants'): the constants PM2 scripts reach for (message
// prefixes, status names, exit codes, exec modes, default timings) together
// with the layout of the default PM2_HOME, as one object.

const { defaultHome, pathsFor } = require('./lib/home_layout');

const constants = {
  PREFIX_MSG: '[PM2] ',
  PREFIX_MSG_INFO: '[PM2][INFO] ',
  PREFIX_MSG_ERR: '[PM2][ERROR] ',
  PREFIX_MSG_WARNING: '[PM2][WARN] ',
  PREFIX_MSG_MOD: '[PM2][Module] ',
  PREFIX_MSG_MOD_ERR: '[PM2][Module][ERROR] ',

  SUCCESS_EXIT: 0,
  ERROR_EXIT: 1,
  CODE_UNCAUGHTEXCEPTION: 1,

  ONLINE_STATUS: 'online',
  STOPPED_STATUS: 'stopped',
  STOPPING_STATUS: 'stopping',
  WAITING_RESTART: 'waiting restart',
  LAUNCHING_STATUS: 'launching',
  ERRORED_STATUS: 'errored',
  ONE_LAUNCH_STATUS: 'one-launch-status',

  CLUSTER_MODE_ID: 'cluster_mode',
  FORK_MODE_ID: 'fork_mode',

  KILL_TIMEOUT: Number(process.env.PM2_KILL_TIMEOUT) || 1600,
  KILL_SIGNAL: process.env.PM2_KILL_SIGNAL || 'SIGINT',
  KILL_USE_MESSAGE: process.env.PM2_KILL_USE_MESSAGE === 'true',
  GRACEFUL_LISTEN_TIMEOUT: Number(process.env.PM2_GRACEFUL_LISTEN_TIMEOUT) || 3000,
  WORKER_INTERVAL: Number(process.env.PM2_WORKER_INTERVAL) || 30000,
  EXP_BACKOFF_RESET_TIMER: Number(process.env.EXP_BACKOFF_RESET_TIMER) || 30000,
  RESTART_DELAY: 0,

  IS_WINDOWS: process.platform === 'win32',
  ...pathsFor(process.env.PM2_HOME || defaultHome()),
};

module.exports = constants;
