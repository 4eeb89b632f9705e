/**
 * WebGPU reaches an NVIDIA GPU through Vulkan, and the Vulkan loader finds the driver through an
 * ICD file. The NVIDIA container toolkit mounts one that names `libGLX_nvidia.so.0`, and on a
 * headless node (no X server: every GPU node of a farm) that library refuses to create a Vulkan
 * instance (`Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'`,
 * VK_ERROR_INCOMPATIBLE_DRIVER), so WebGPU finds no adapter. NVIDIA's headless path is the same
 * driver through `libEGL_nvidia.so.0`. Measured on an H200 node (2026-12-04, models/REAL_MODELS.md
 * §5): the mounted GLX ICD gave no adapter; an ICD file naming libEGL_nvidia gave one at once.
 *
 * So before the WebGPU provider starts, when an NVIDIA device node exists, the operator has not
 * chosen an ICD (`VK_DRIVER_FILES`, `VK_ICD_FILENAMES`) and `RENDERER_VULKAN_ICD` is not `off`,
 * the renderer writes that EGL ICD file and points the loader at it. `RENDERER_VULKAN_ICD=PATH`
 * names an ICD file to use instead.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

export interface IcdHost {
  env: NodeJS.ProcessEnv;
  exists(path: string): boolean;
  listDir(dir: string): string[];
  readText(path: string): string | undefined;
  writeText(path: string, text: string): void;
  tmpDir: string;
}

const ICD_DIRS = [
  '/etc/vulkan/icd.d',
  '/usr/share/vulkan/icd.d',
  '/usr/local/share/vulkan/icd.d',
  '/usr/local/nvidia/share/vulkan/icd.d',
];
const LIB_DIRS = [
  '/usr/local/nvidia/lib64',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
];
const EGL = 'libEGL_nvidia.so.0';

/** The NVIDIA ICD files installed, with the library each names and its API version. */
function nvidiaIcds(host: IcdHost): Array<{ file: string; library: string; apiVersion: string }> {
  const found: Array<{ file: string; library: string; apiVersion: string }> = [];
  for (const dir of ICD_DIRS) {
    for (const name of host.listDir(dir)) {
      if (!name.endsWith('.json')) continue;
      const file = join(dir, name);
      try {
        const icd = JSON.parse(host.readText(file) ?? '')?.ICD;
        if (typeof icd?.library_path === 'string' && /lib(GLX|EGL)_nvidia/.test(icd.library_path))
          found.push({ file, library: icd.library_path, apiVersion: String(icd.api_version ?? '1.3.0') });
      } catch {
        // not an ICD file we can read: the loader will say so itself
      }
    }
  }
  return found;
}

/**
 * Points the Vulkan loader at NVIDIA's headless (EGL) ICD where that is needed; returns what it
 * did, for the log, or undefined when it left things alone.
 */
export function preferHeadlessNvidiaIcd(host: IcdHost): string | undefined {
  const { env } = host;
  const choice = env.RENDERER_VULKAN_ICD?.trim();
  if (choice === 'off') return undefined;
  if (choice) {
    if (!host.exists(choice))
      return `RENDERER_VULKAN_ICD=${choice} does not exist; Vulkan left as configured`;
    env.VK_DRIVER_FILES = choice;
    return `Vulkan ICD ${choice} (RENDERER_VULKAN_ICD)`;
  }
  if (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES) return undefined;
  if (!host.exists('/dev/nvidiactl') && !host.listDir('/dev').some((n) => /^nvidia\d+$/.test(n)))
    return undefined;
  const icds = nvidiaIcds(host);
  if (icds.some((i) => i.library.includes('libEGL_nvidia'))) return undefined; // the loader will find it
  const glx = icds[0];
  const dirs = [
    ...(glx && isAbsolute(glx.library) ? [dirname(glx.library)] : []),
    ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    ...LIB_DIRS,
  ];
  const dir = dirs.find((d) => host.exists(join(d, EGL)));
  if (!dir) return undefined;
  const file = join(host.tmpDir, 'tessera-vulkan', 'nvidia_egl_icd.json');
  const icd = {
    file_format_version: '1.0.1',
    ICD: { library_path: join(dir, EGL), api_version: glx?.apiVersion ?? '1.3.0' },
  };
  host.writeText(file, `${JSON.stringify(icd)}\n`);
  env.VK_DRIVER_FILES = file;
  return `Vulkan through ${join(dir, EGL)} (headless; the GLX ICD needs an X server): VK_DRIVER_FILES=${file}`;
}

export const systemIcdHost: IcdHost = {
  env: process.env,
  exists: existsSync,
  listDir: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  readText: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  writeText: (path, text) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  },
  tmpDir: tmpdir(),
};
