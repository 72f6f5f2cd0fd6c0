namespace SaeGuard.IO.Torch;

/// <summary>
/// A storage from a torch .pt archive: the bytes of entry <c>data/&lt;Key&gt;</c>. Read eagerly
/// (<see cref="Data"/> given), or on first use (<see cref="Loader"/>) when the archive was opened
/// with <see cref="TorchPickleReader.LoadLazy"/>; then <see cref="TorchPickleReader.OpenStorage"/>
/// streams it instead.
/// </summary>
public sealed class TorchStorage
{
    byte[]? _data;
    public required string Key { get; init; }
    public required DType DType { get; init; }
    public required long Elements { get; init; }
    /// <summary>The zip entry holding the bytes.</summary>
    public string Entry { get; init; } = "";
    /// <summary>Reads the bytes on first use of <see cref="Data"/> (lazy archives).</summary>
    public Func<byte[]>? Loader { get; init; }
    public byte[] Data
    {
        get => _data ??= (Loader ?? throw new InvalidOperationException($"storage '{Key}' has no data."))();
        init => _data = value;
    }
    /// <summary>True once the bytes are in memory.</summary>
    public bool IsLoaded => _data != null;
}

/// <summary>
/// A tensor from a .pt file: a view (offset, shape, strides in elements) of a storage, as
/// <c>torch._utils._rebuild_tensor_v2</c> describes it. The view was checked to lie inside its
/// storage; <see cref="ToContiguousBytes"/> gathers it into C order.
/// </summary>
public sealed class TorchTensor : ITensorData
{
    public TorchStorage Storage { get; }
    public long StorageOffset { get; }
    public long[] Shape { get; }
    public long[] Stride { get; }
    public bool RequiresGrad { get; }
    public DType DType => Storage.DType;
    public bool IsContiguous => ShapeMath.IsCContiguous(Shape, Stride);

    public TorchTensor(TorchStorage storage, long offset, long[] shape, long[] stride, bool requiresGrad, string where)
    {
        if (shape.Length != stride.Length)
            throw new InvalidDataException($"{where}: tensor has {shape.Length} sizes but {stride.Length} strides.");
        if (offset < 0 || shape.Any(s => s < 0) || stride.Any(s => s < 0))
            throw new InvalidDataException($"{where}: tensor has a negative size, stride or offset.");
        ShapeMath.ByteLength(shape, storage.DType, where);
        try
        {
            if (ShapeMath.Elements(shape) > 0)
            {
                long last = offset;
                for (int d = 0; d < shape.Length; d++) last = checked(last + (shape[d] - 1) * stride[d]);
                if (last >= storage.Elements)
                    throw new InvalidDataException($"{where}: tensor view [{string.Join(",", shape)}] (strides {string.Join(",", stride)}, offset {offset}) reaches element {last} of a {storage.Elements}-element storage.");
            }
        }
        catch (OverflowException) { throw new InvalidDataException($"{where}: tensor view overflows."); }
        Storage = storage; StorageOffset = offset; Shape = shape; Stride = stride; RequiresGrad = requiresGrad;
    }

    public byte[] ToContiguousBytes() =>
        ShapeMath.Gather(Storage.Data, DTypes.Size(DType), StorageOffset, Shape, Stride);

    public override string ToString() => $"tensor {DType}[{string.Join(",", Shape)}]";
}
