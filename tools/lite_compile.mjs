// Run tools/lite_compile.py inside Pyodide, in Node: node tools/lite_compile.mjs <pyodide folder> <jobs.json>
// jobs.json: [[source wheel, target wheel, keep sources, hot files or null], ...] with absolute host paths. The host's filesystem is
// mounted at /host, so the paths are the same with that prefix.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [pyodideFolder, jobsFile] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(join(pyodideFolder, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL: pyodideFolder + "/" });
pyodide.FS.mkdir("/host");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: "/" }, "/host");
const jobs = JSON.parse(readFileSync(jobsFile, "utf8")).map(([s, t, keep, hot]) => ["/host" + s, "/host" + t, keep, hot]);
const here = dirname(fileURLToPath(import.meta.url));
pyodide.runPython(readFileSync(join(here, "lite_compile.py"), "utf8"));
pyodide.globals.get("main")(pyodide.toPy(jobs));
