using SaeGuard.Sae.Backend;
using SaeGuard.Sae.Device;
using SaeGuard.Sae.Training.Architectures;

namespace SaeGuard.Sae.Training;

/// <summary>Picks the training backend for <see cref="SaeTrainOptions.Device"/>.</summary>
public static class TrainingBackends
{
    public static ITrainingBackend Create(SaeTrainOptions o, TrainingSae arch, ISaeBackend host, int d, int m, int batch, DeviceGemm gemm = DeviceGemm.Tiled)
    {
        var device = SaeDevice.Resolve(o.Device);
        return device.IsIlgpu
            ? new IlgpuTrainingBackend(device, arch, o, d, m, batch, gemm)
            : new CpuTrainingBackend(host, arch, o, d, m, batch);
    }
}
