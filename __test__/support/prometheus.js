'use strict';
// A real Prometheus text parser for the tests: the `prometheus_client`
// package from PyPI, installed once with pip into a cache folder. When pip
// is not there, `prometheusParser()` returns null and says why, so a test
// can skip with that message.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');

const VERSION = '0.26.0';
const cacheDir = process.env.PM2_PYPI_CACHE || path.join(os.tmpdir(), `pm2-test-prometheus_client-${VERSION}`);

const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
print(json.dumps(out))
`;

/** `{parse(text) → families}` or `{skip: reason}`. */
function prometheusParser() {
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['-m', 'pip', '--version']).status === 0);
  if (!python) return { skip: 'pip is not available (python3 -m pip), so prometheus_client cannot be installed' };
  if (!fs.existsSync(path.join(cacheDir, 'prometheus_client', 'parser.py'))) {
    fs.mkdirSync(cacheDir, { recursive: true });
    execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--root-user-action=ignore', '--no-deps',
      '--target', cacheDir, `prometheus_client==${VERSION}`], { stdio: 'inherit', timeout: 300000 });
  }
  return {
    parse(text) {
      const r = spawnSync(python, ['-c', PARSE], {
        input: text,
        env: { ...process.env, PYTHONPATH: cacheDir },
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`prometheus_client refused the exposition: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
  };
}

module.exports = { prometheusParser, VERSION };
