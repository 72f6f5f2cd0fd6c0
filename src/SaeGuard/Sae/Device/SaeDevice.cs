using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using SaeGuard.Common;

namespace SaeGuard.Sae.Device;

/// <summary>Where SAE kernels run: the host backend, a CUDA GPU through ILGPU, or ILGPU's CPU accelerator (tests).</summary>
public enum SaeDeviceKind { Cpu, Cuda, IlgpuCpu }

/// <summary>A resolved <c>--device</c>: its kind and the name recorded in metrics and cfg.json.</summary>
public sealed record SaeDevice(SaeDeviceKind Kind, string Name)
{
    public const string CpuName = "cpu", CudaName = "cuda", IlgpuCpuName = "ilgpu-cpu", AutoName = "auto";
    public static readonly string[] Choices = { CpuName, CudaName, IlgpuCpuName, AutoName };
    public static readonly SaeDevice Cpu = new(SaeDeviceKind.Cpu, CpuName);

    public bool IsIlgpu => Kind != SaeDeviceKind.Cpu;

    /// <summary>
    /// cpu | cuda | ilgpu-cpu | auto (cuda when a CUDA device and driver are found, else cpu).
    /// Asking for cuda without one is a <see cref="UserError"/> saying what was looked for.
    /// </summary>
    public static SaeDevice Resolve(string? name)
    {
        switch ((name ?? CpuName).Trim().ToLowerInvariant())
        {
            case CpuName: return Cpu;
            case IlgpuCpuName: return new SaeDevice(SaeDeviceKind.IlgpuCpu, IlgpuCpuName);
            case CudaName:
                return FindCuda(out var why) ?? throw new UserError($"--device cuda: no CUDA device found ({why}). Use --device cpu or auto.");
            case AutoName: return FindCuda(out _) ?? Cpu;
            default: throw new UserError($"Unknown --device '{name}': use one of {string.Join(", ", Choices)}.");
        }
    }

    /// <summary>The first CUDA device ILGPU sees, or null with the reason.</summary>
    public static SaeDevice? FindCuda(out string why)
    {
        try
        {
            using var context = Context.Create(b => b.Cuda());
            var devices = context.GetCudaDevices();
            if (devices.Count == 0)
            {
                why = "looked for the CUDA driver library (libcuda.so.1 / nvcuda) and a device through ILGPU's CUDA driver API: " +
                      "the driver is missing or reports no device";
                return null;
            }
            why = "";
            return new SaeDevice(SaeDeviceKind.Cuda, $"cuda:0 {devices[0].Name}");
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or InvalidOperationException or NotSupportedException)
        {
            why = $"looked for the CUDA driver library (libcuda.so.1 / nvcuda) through ILGPU: {e.GetBaseException().Message}";
            return null;
        }
    }

    /// <summary>An ILGPU context and accelerator for this device (the caller disposes both).</summary>
    public (Context Context, Accelerator Accelerator) Open()
    {
        switch (Kind)
        {
            case SaeDeviceKind.Cuda:
            {
                var ctx = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2));
                if (ctx.GetCudaDevices().Count == 0) { ctx.Dispose(); throw new UserError("--device cuda: the CUDA device disappeared."); }
                return (ctx, ctx.CreateCudaAccelerator(0));
            }
            case SaeDeviceKind.IlgpuCpu:
            {
                // a CPU device that allows 256-thread groups (the SGEMM and row kernels use them)
                var ctx = Context.Create(b => b.CPU(new CPUDevice(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 64, numMultiprocessors: 1)));
                return (ctx, ctx.CreateCPUAccelerator(0));
            }
            default: throw new InvalidOperationException("The CPU device has no ILGPU accelerator.");
        }
    }
}
