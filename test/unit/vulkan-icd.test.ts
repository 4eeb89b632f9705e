import { describe, expect, it } from 'vitest';
import { type IcdHost, preferHeadlessNvidiaIcd } from '../../renderer/src/onnx/vulkan-icd.js';

const GLX_ICD = '/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json';

/** A GPU node as the NVIDIA container toolkit leaves it (seen on the H200 machine, 2026-12-04). */
function fakeHost(over: { env?: NodeJS.ProcessEnv; files?: Record<string, string>; dev?: string[] } = {}) {
  const files: Record<string, string> = over.files ?? {
    [GLX_ICD]: JSON.stringify({
      file_format_version: '1.0.1',
      ICD: { library_path: 'libGLX_nvidia.so.0', api_version: '1.4.312' },
    }),
    '/usr/local/nvidia/lib64/libGLX_nvidia.so.0': '',
    '/usr/local/nvidia/lib64/libEGL_nvidia.so.0': '',
    '/dev/nvidiactl': '',
  };
  const dev = over.dev ?? ['null', 'nvidia0', 'nvidiactl', 'nvidia-uvm'];
  const written: Record<string, string> = {};
  const host: IcdHost = {
    env: over.env ?? {},
    exists: (p) => p in files || p in written,
    listDir: (d) =>
      d === '/dev'
        ? dev
        : Object.keys(files)
            .filter((f) => f.startsWith(`${d}/`) && !f.slice(d.length + 1).includes('/'))
            .map((f) => f.slice(d.length + 1)),
    readText: (p) => files[p] ?? written[p],
    writeText: (p, t) => {
      written[p] = t;
    },
    tmpDir: '/tmp',
  };
  return { host, written };
}

describe('preferHeadlessNvidiaIcd', () => {
  it('points the loader at libEGL_nvidia when only the GLX ICD is mounted', () => {
    const { host, written } = fakeHost();
    const note = preferHeadlessNvidiaIcd(host);
    expect(note).toMatch(/libEGL_nvidia\.so\.0 \(headless/);
    expect(host.env.VK_DRIVER_FILES).toBe('/tmp/tessera-vulkan/nvidia_egl_icd.json');
    expect(JSON.parse(written['/tmp/tessera-vulkan/nvidia_egl_icd.json']!)).toEqual({
      file_format_version: '1.0.1',
      ICD: { library_path: '/usr/local/nvidia/lib64/libEGL_nvidia.so.0', api_version: '1.4.312' },
    });
    // once set, a second provider start leaves it alone
    expect(preferHeadlessNvidiaIcd(host)).toBeUndefined();
  });

  it("leaves the operator's choice, machines without NVIDIA nodes and EGL ICDs alone", () => {
    const chosen = fakeHost({ env: { VK_DRIVER_FILES: '/my/icd.json' } });
    expect(preferHeadlessNvidiaIcd(chosen.host)).toBeUndefined();
    expect(chosen.host.env.VK_DRIVER_FILES).toBe('/my/icd.json');
    expect(chosen.written).toEqual({});

    const legacy = fakeHost({ env: { VK_ICD_FILENAMES: '/my/icd.json' } });
    expect(preferHeadlessNvidiaIcd(legacy.host)).toBeUndefined();

    const amd = fakeHost({ files: {}, dev: ['null', 'dri'] });
    expect(preferHeadlessNvidiaIcd(amd.host)).toBeUndefined();
    expect(amd.host.env.VK_DRIVER_FILES).toBeUndefined();

    const egl = fakeHost({
      files: {
        '/usr/share/vulkan/icd.d/nvidia_icd.json': JSON.stringify({
          ICD: { library_path: 'libEGL_nvidia.so.0' },
        }),
        '/usr/lib/x86_64-linux-gnu/libEGL_nvidia.so.0': '',
      },
    });
    expect(preferHeadlessNvidiaIcd(egl.host)).toBeUndefined();

    const noEgl = fakeHost({
      files: { [GLX_ICD]: JSON.stringify({ ICD: { library_path: 'libGLX_nvidia.so.0' } }) },
    });
    expect(preferHeadlessNvidiaIcd(noEgl.host)).toBeUndefined();
    expect(noEgl.written).toEqual({});
  });

  it('finds the EGL library beside an absolute GLX path, with a default API version', () => {
    const { host, written } = fakeHost({
      files: {
        '/etc/vulkan/icd.d/nv.json': JSON.stringify({ ICD: { library_path: '/opt/nv/libGLX_nvidia.so.0' } }),
        '/etc/vulkan/icd.d/broken.json': '{ not json',
        '/opt/nv/libEGL_nvidia.so.0': '',
      },
    });
    expect(preferHeadlessNvidiaIcd(host)).toMatch(/\/opt\/nv\/libEGL_nvidia\.so\.0/);
    expect(JSON.parse(Object.values(written)[0]!).ICD).toEqual({
      library_path: '/opt/nv/libEGL_nvidia.so.0',
      api_version: '1.3.0',
    });
  });

  it('RENDERER_VULKAN_ICD: off leaves Vulkan alone; a path is used as it is', () => {
    const off = fakeHost({ env: { RENDERER_VULKAN_ICD: 'off' } });
    expect(preferHeadlessNvidiaIcd(off.host)).toBeUndefined();
    expect(off.host.env.VK_DRIVER_FILES).toBeUndefined();

    const own = fakeHost({ env: { RENDERER_VULKAN_ICD: GLX_ICD } });
    expect(preferHeadlessNvidiaIcd(own.host)).toMatch(/RENDERER_VULKAN_ICD/);
    expect(own.host.env.VK_DRIVER_FILES).toBe(GLX_ICD);

    const missing = fakeHost({ env: { RENDERER_VULKAN_ICD: '/nope.json' } });
    expect(preferHeadlessNvidiaIcd(missing.host)).toMatch(/does not exist/);
    expect(missing.host.env.VK_DRIVER_FILES).toBeUndefined();
  });
});
