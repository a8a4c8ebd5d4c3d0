'use strict';

// Ships CPython 3.12 bytecode in the function package (issue 16, cold start): after the framework has
// zipped the code and serverless-python-requirements has added the requirements (it is listed first in
// serverless.yml, so its hook runs first), deploy/compile_package.py compiles the unzipped package with
// the Lambda runtime's Python and writes the zip again. Why unchecked-hash .pyc: that script's docstring.
//
// The interpreter: $DMARC_LAMBDA_PYTHON, python3.12 on the PATH, `uv python find 3.12`, or pyenv's
// 3.12. Packaging fails when none is CPython 3.12: another version's .pyc would be ignored by Lambda.
// Offline and deterministic: no download, and the same sources give the same zip.

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const RUNTIME = '3.12';
const PROBE = 'import sys; print(sys.implementation.name, "%d.%d" % sys.version_info[:2])';

function isRuntimePython(candidate) {
  try {
    const out = execFileSync(candidate, ['-c', PROBE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.trim() === `cpython ${RUNTIME}`;
  } catch (error) {
    return false;
  }
}

function uvPython() {
  try {
    const out = execFileSync('uv', ['python', 'find', '--no-python-downloads', RUNTIME], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim();
  } catch (error) {
    return '';
  }
}

function pyenvPythons() {
  const versions = path.join(os.homedir(), '.pyenv', 'versions');
  if (!fs.existsSync(versions)) return [];
  return fs
    .readdirSync(versions)
    .filter((name) => name.startsWith(`${RUNTIME}.`))
    .sort()
    .reverse()
    .map((name) => path.join(versions, name, 'bin', `python${RUNTIME}`));
}

function findRuntimePython() {
  const candidates = [process.env.DMARC_LAMBDA_PYTHON, `python${RUNTIME}`, uvPython(), ...pyenvPythons()];
  const found = candidates.find((candidate) => candidate && isRuntimePython(candidate));
  if (!found) {
    throw new Error(
      `deploy/compile-plugin.js: no CPython ${RUNTIME} found (the Lambda runtime's version, needed to compile ` +
        `the package's bytecode). Install one (\`uv python install ${RUNTIME}\`) or set DMARC_LAMBDA_PYTHON.`
    );
  }
  return found;
}

class CompileBytecode {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:package:createDeploymentArtifacts': () => this.compile() };
  }

  compile() {
    const artifact = this.serverless.service.package.artifact;
    if (!artifact) throw new Error('deploy/compile-plugin.js: no package artifact (package.individually is false)');
    const script = path.join(__dirname, 'compile_package.py');
    const out = execFileSync(findRuntimePython(), ['-I', '-B', script, artifact], { encoding: 'utf8' });
    this.serverless.cli.log(out.trim());
  }
}

module.exports = CompileBytecode;
