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

  # a lock file: exactly the wheels it chose for the target, resolving nothing
  pip-lambda install --lock pylock.toml --code app.py

  # requirements pinned with hashes: pip installs exactly what they list
  pip-lambda install --no-deps --require-hashes -r requirements.lock --code app.py

  # a function deployed with a layer: the size limit and the import test count the layer
  pip-lambda install -r requirements.txt --code app.py --with-layer build/layer.zip --handler app.handler

  # the named target [tool.pip-lambda.targets.api], with a JSON report
  pip-lambda install --name api --report build/api.json

  # why it is big: a treemap page of the distributions and what pulled them in
  pip-lambda install -r requirements.txt --code app.py --size-report build/size.html

  # above 250 MB: a container-image build context (Dockerfile + tree) instead of a zip
  pip-lambda install -r requirements.txt --code app.py --handler app.handler --container build/image
"""

LOCK_EPILOG = """\
Resolves with pip for the Lambda runtime and architecture (markers and wheel tags of the
target, whatever machine runs it) and writes a pylock.toml (PEP 751) holding each package's one
wheel and its sha256, with the target in 'environments'. Without requirements it locks the
[project] dependencies of pyproject.toml (--extra adds optional ones), else requirements.txt.
'pip-lambda install' then builds from it without resolving; so do 'uv pip install -r' and
pip 26 on the same platform. Every other argument goes to pip (-r, -c, -i, --find-links...).

examples:
  # lock requirements.txt for python3.12 on arm64 -> pylock.toml, then build from it
  pip-lambda lock --runtime python3.12 --arch arm64 -r requirements.txt
  pip-lambda install --runtime python3.12 --arch arm64 --code app.py

  # the project's [project] dependencies with the 'aws' extra, in a lock of its own
  pip-lambda lock --runtime python3.13 --extra aws -o pylock.lambda.toml
"""

BUILD_EPILOG = """\
Builds every named target of the configuration ([tool.pip-lambda.targets.NAME] in
pyproject.toml, [pip-lambda.targets.NAME] in setup.cfg), each into build/NAME and
build/NAME.zip unless its table says otherwise. Options and pip arguments given here
apply to every target.

With --shared-layer NAME (or shared-layer = "NAME" at the top of the configuration),
every function target is resolved first; what all of them install identically (same
name, version and wheel file) goes into one layer built to build/NAME.zip, and each
function is built without it and verified together with it.

examples:
  pip-lambda build                                   # every named target
  pip-lambda build --report build/report.json        # one report for all of them
  pip-lambda build --shared-layer shared             # build/shared.zip + each function without it
"""

TOP_HELP = f"""\
usage: pip-lambda install [options] [pip install arguments...]
       pip-lambda build [options] [pip install arguments...]
       pip-lambda verify [options] PATH
       pip-lambda diff [options] OLD NEW
       pip-lambda sbom [options] PATH
       pip-lambda lock [options] [pip install arguments...]
       pip-lambda size [options] PATH
       pip-lambda cache info|prune|purge

Build an AWS Lambda deployment package (function or layer zip) with pip,
correct for the Lambda runtime and architecture whatever machine runs it.

commands:
  install    install requirements for a Lambda runtime and write a reproducible zip
  build      build every named target of pyproject.toml or setup.cfg
  verify     check that a zip or folder, built by any tool, will load on a Lambda runtime
  size       why a zip, folder or report is as big as it is, and why each distribution is there
  cache      show (info), trim (prune) or delete (purge) the build cache
  diff       show what changed between two packages (zips, folders or JSON reports)
  sbom       write a CycloneDX bill of materials of a zip or folder built by any tool
  lock       write a pylock.toml resolved for a Lambda runtime, from any machine

'pip-lambda COMMAND --help' lists a command's options, with examples.  pip-lambda {__version__}

examples:
  pip-lambda install -r requirements.txt --code app.py                       # a function: build/lambda.zip
  pip-lambda install --layer --runtime python3.13 -r requirements.txt        # a layer: build/layer.zip
  pip-lambda install --runtime python3.12 --arch arm64 -r requirements.txt   # arm64 (Graviton)
  pip-lambda install --lock pylock.toml --code app.py                        # exactly what a lock file chose
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
  layer-layout      (warning, --with-layer) a layer without python/, or for another Python
  layer-shadowing   (warning, --with-layer) a distribution in the package and a layer, or in two layers
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


DIFF_EPILOG = """\
OLD and NEW are each a zip (built by any tool), a folder, or a JSON report written with
--report; any combination. Zips are compared by their central directories (names, sizes,
CRC-32s), reading only the small .dist-info METADATA and RECORD members; folders by their
files' contents. A file counts as changed when its size, CRC-32 or executable bit differs.
Changed files are listed under the distribution whose RECORD names them, or under "-".

examples:
  # what a dependency bump changed, zip against zip
  pip-lambda diff main/lambda.zip build/lambda.zip

  # in CI: compare the report of the main branch with this build's, as JSON
  pip-lambda install -r requirements.txt --report build/report.json
  pip-lambda diff --json main-report.json build/report.json > diff.json

exit codes: 0 the packages hold the same files, 1 they differ, 2 bad input (a missing path,
a file that is not a zip or a report, a damaged zip, a report of another kind or version).
"""


SBOM_EPILOG = """\
Distributions are read from the .dist-info folders where Lambda looks (the root, python/,
python/lib/python3.X/site-packages/); dependencies are evaluated for --runtime and --arch
(defaults as for 'install'); files no RECORD lists are the main component. A zip built by
any tool does not say which wheel files it came from, so components carry no wheel sha256:
'pip-lambda install --sbom FILE' does. Needs pip install 'pip-lambda[sbom]'.

examples:
  # a bill of materials of a zip another tool built, for python3.12 on arm64
  pip-lambda sbom --runtime python3.12 --arch arm64 function.zip -o function.cdx.json

  # of a layer folder, printed
  pip-lambda sbom --layer build/layer

exit codes: 0 written, 2 bad input (a missing path, not a zip or folder, a damaged zip),
6 an output path that would replace something else, 7 cyclonedx-python-lib is not installed.
"""


SIZE_EPILOG = """\
Every file belongs to the distribution whose RECORD lists it, or to your code. For each
distribution: its unzipped bytes, its share of the zip (its members' compressed bytes over
the zip's size) and the chain that pulled it in, from Requires-Dist evaluated for
--runtime/--arch (default as for 'install'). In a zip or folder the chains start at the
distributions nothing else requires; a report of 'pip-lambda install --report' holds the
build's own chains, from its requirements. A zip is read from its central directory and its
.dist-info metadata: nothing else is unpacked. A layer (python/) is detected; --layer forces it.

examples:
  pip-lambda size build/lambda.zip                    # a zip pip-lambda or any other tool built
  pip-lambda size --runtime python3.12 function.zip --html size.html
  pip-lambda size build/report.json --json            # the analysis a build recorded

exit codes: 0 done, 2 usage error or a PATH that is no zip, folder or report (or a damaged
one), 6 a zip member named outside the zip.
"""


CACHE_EPILOG = """\
The cache lives in the user cache folder; $PIP_LAMBDA_CACHE_DIR moves it, and it is kept
under $PIP_LAMBDA_CACHE_MAX_SIZE (default 5G).

examples:
  pip-lambda cache info                 # where it is and what it holds
  pip-lambda cache prune --max-size 1G  # trim to a size, least recently used first
  pip-lambda cache purge                # delete it all
"""
