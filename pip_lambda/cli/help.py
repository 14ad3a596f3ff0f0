"""Help texts: the top-level help and each command's epilog with worked examples."""

from __future__ import annotations

from pip_lambda import __version__

INSTALL_EPILOG = """\
Any other argument is passed to 'pip install' unchanged: -r, -c, -i, --extra-index-url,
--find-links, --no-index, --no-deps, --require-hashes, --pre and requirement specifiers.
pip-lambda adds --target, one --platform per tag the runtime can load, --implementation cp,
--python-version, --only-binary=:all: and --no-compile, and evaluates environment markers
for the target.

Settings also come from PIP_LAMBDA_<OPTION> variables, [tool.pip-lambda] in pyproject.toml
and [pip-lambda] in setup.cfg (keys named after the long options, plus requirements and
pip-args); the command line wins, then the environment, pyproject.toml, setup.cfg.
-v shows where each setting came from.

examples:
  # a function: dependencies and the handler, for this interpreter's Python -> build/lambda.zip
  pip-lambda install -r requirements.txt --code app.py

  # a layer (everything under python/) for python3.13 -> build/layer.zip
  pip-lambda install --layer --runtime python3.13 -r requirements.txt

  # arm64 (Graviton) for python3.12, written where you want it
  pip-lambda install --runtime python3.12 --arch arm64 -r requirements.txt -o dist/fn-arm64.zip

  # a lock file with hashes: pip installs exactly what it lists
  pip-lambda install --no-deps --require-hashes -r requirements.lock --code app.py

  # the named target [tool.pip-lambda.targets.api], with a JSON report
  pip-lambda install --name api --report build/api.json
"""

BUILD_EPILOG = """\
Builds every named target of the configuration ([tool.pip-lambda.targets.NAME] in
pyproject.toml, [pip-lambda.targets.NAME] in setup.cfg), each into build/NAME and
build/NAME.zip unless its table says otherwise. Options and pip arguments given here
apply to every target.

examples:
  pip-lambda build                                   # every named target
  pip-lambda build --report build/report.json        # one report for all of them
"""

TOP_HELP = f"""\
usage: pip-lambda install [options] [pip install arguments...]
       pip-lambda build [options] [pip install arguments...]
       pip-lambda verify [options] PATH
       pip-lambda cache info|prune|purge

Build an AWS Lambda deployment package (function or layer zip) with pip,
correct for the Lambda runtime and architecture whatever machine runs it.

commands:
  install    install requirements for a Lambda runtime and write a reproducible zip
  build      build every named target of pyproject.toml or setup.cfg
  verify     check that a zip or folder, built by any tool, will load on a Lambda runtime
  cache      show (info), trim (prune) or delete (purge) the build cache

'pip-lambda COMMAND --help' lists a command's options, with examples.  pip-lambda {__version__}

examples:
  pip-lambda install -r requirements.txt --code app.py                       # a function: build/lambda.zip
  pip-lambda install --layer --runtime python3.13 -r requirements.txt        # a layer: build/layer.zip
  pip-lambda install --runtime python3.12 --arch arm64 -r requirements.txt   # arm64 (Graviton)
  pip-lambda install --no-deps --require-hashes -r requirements.lock         # exactly what a lock file lists
  pip-lambda verify --runtime python3.12 build/lambda.zip                    # check any zip before it ships
"""


VERIFY_EPILOG = """\
Runtime, architecture, --layer, --handler and --python default as for 'install'
(PIP_LAMBDA_* variables, pyproject.toml, setup.cfg).

checks (each finding names the distribution, the file, the reason and the fix):
  wheel-tags        each distribution's WHEEL tags load on the runtime (CPython version and ABI,
                    glibc ceiling, architecture; no musllinux, macOS, Windows, PyPy, free-threaded)
  binary-format     files named like libraries are ELF, not Mach-O (macOS) or PE (Windows)
  elf-machine       every ELF file is 64-bit for the architecture (x86-64 or AArch64)
  elf-glibc         GLIBC_x.y versions within the runtime's glibc; GLIBC_PRIVATE is an error
  elf-gcc-runtime   GLIBCXX, CXXABI and GCC versions within the runtime's libstdc++ and libgcc_s
  extension-suffix  extension modules carry a suffix the runtime imports
  elf-needed        (warning) needed libraries are in the package or on every Lambda runtime
  pth-outside, direct-url   editable or local-path installs that point outside the package
  sdk-partial       (warning) boto3, botocore and s3transfer bundled only partly
  layout            a layer's python/ folder and site-packages version
  import            (--import) every top-level module imports in the target's Python

examples:
  # a zip built by any tool, for this interpreter's Python
  pip-lambda verify build/lambda.zip

  # for python3.12 on arm64, importing every module and the handler with a python3.12 interpreter
  pip-lambda verify --runtime python3.12 --arch arm64 --handler app.handler dist/fn.zip

  # a layer folder
  pip-lambda verify --layer --runtime python3.13 build/layer

exit codes: 0 no errors (warnings allowed), 4 errors found, 2 usage error or a zip that is
damaged, encrypted or compressed with an unsupported method, 5 above Lambda's unzipped limit,
6 a zip member named outside the zip.
"""

CACHE_EPILOG = """\
The cache lives in the user cache folder; $PIP_LAMBDA_CACHE_DIR moves it, and it is kept
under $PIP_LAMBDA_CACHE_MAX_SIZE (default 5G).

examples:
  pip-lambda cache info                 # where it is and what it holds
  pip-lambda cache prune --max-size 1G  # trim to a size, least recently used first
  pip-lambda cache purge                # delete it all
"""
