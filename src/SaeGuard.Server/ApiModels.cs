using SaeGuard.Probes;

namespace SaeGuard.Server;

// Wire shapes of the HTTP API (serialised snake_case), mapped from the Probes vocabulary
// (FeatureContribution, TokenTrace, FeatureInfo): no number is computed here.

/// <summary>POST /v1/classify: exactly one of Text or Texts.</summary>
public sealed record ClassifyRequest
{
    public string? Text { get; init; }
    public List<string?>? Texts { get; init; }
}

public sealed record ClassifyResult
{
    public int Index { get; init; }
    public double Score { get; init; }
    public string Label { get; init; } = "";
    public double Threshold { get; init; }
    public IReadOnlyList<FeatureContribution> TopFeatures { get; init; } = Array.Empty<FeatureContribution>();
    /// <summary>Features that pushed the score down, most negative first (never mixed into top_features).</summary>
    public IReadOnlyList<FeatureContribution> NegativeFeatures { get; init; } = Array.Empty<FeatureContribution>();
    /// <summary>Logit = offset + Σ contributions + sae_residual, where the guard reports them (null otherwise).</summary>
    public double? Offset { get; init; }
    public double? SaeResidual { get; init; }
    /// <summary>True when the text was cut to the server's character limit before scoring.</summary>
    public bool Truncated { get; init; }
    /// <summary>Characters scored, and the text's length as sent.</summary>
    public int CharsScored { get; init; }
    public int CharsReceived { get; init; }
    public int Tokens { get; init; }
    /// <summary>True when the model's token limit cut the text.</summary>
    public bool TokensTruncated { get; init; }
}

public sealed record ClassifyResponse(string Model, IReadOnlyList<ClassifyResult> Results, int TruncatedTexts);

/// <summary>POST /v1/explain: a text and the feature to show per token (default: the verdict's top feature).</summary>
public sealed record ExplainRequest
{
    public string? Text { get; init; }
    public int? Feature { get; init; }
}

public sealed record ExplainResponse
{
    public int Feature { get; init; }
    public string Label { get; init; } = "";
    public double MaxActivation { get; init; }
    public IReadOnlyList<ExplainToken> Tokens { get; init; } = Array.Empty<ExplainToken>();
    public bool Truncated { get; init; }
    public bool TokensTruncated { get; init; }
}

/// <summary>One token of /v1/explain: the requested feature's activation on it.</summary>
public sealed record ExplainToken(string Token, double Activation, bool IsSpecial)
{
    public static IReadOnlyList<ExplainToken> From(TokenTrace trace) =>
        trace.Tokens.Select(t => new ExplainToken(t.Token, t.Activations[0], t.IsSpecial)).ToArray();
}

/// <summary>A row of /v1/features; probe_weight is <see cref="FeatureInfo.Weight"/>.</summary>
public sealed record FeatureRow(int Id, string Label, double FiringRate, double MeanWhenActive, double MaxActivation, double ProbeWeight)
{
    public static FeatureRow From(FeatureInfo f) => new(f.Id, f.Label, f.FiringRate, f.MeanWhenActive, f.MaxActivation, f.Weight);
}

/// <summary>Histogram of a feature's non-zero activations: Counts[i] in [Edges[i], Edges[i+1]).</summary>
public sealed record HistogramDto(IReadOnlyList<double> Edges, IReadOnlyList<long> Counts);

/// <summary>A token where the feature fired, with up to 5 tokens either side; Tokens[Index] fired.</summary>
public sealed record ContextDto(int DocId, IReadOnlyList<string> Tokens, int Index, double Activation);

/// <summary>/v1/features/{id}: the feature's <see cref="FeatureInfo"/> from features.json.</summary>
public sealed record FeatureDetail
{
    public int Id { get; init; }
    public string Label { get; init; } = "";
    public double FiringRate { get; init; }
    public double MeanWhenActive { get; init; }
    public double MaxActivation { get; init; }
    public double ProbeWeight { get; init; }
    public HistogramDto Histogram { get; init; } = new(Array.Empty<double>(), Array.Empty<long>());
    public IReadOnlyList<ContextDto> TopContexts { get; init; } = Array.Empty<ContextDto>();

    public static FeatureDetail From(FeatureInfo f) => new()
    {
        Id = f.Id, Label = f.Label, FiringRate = f.FiringRate, MeanWhenActive = f.MeanWhenActive, MaxActivation = f.MaxActivation,
        ProbeWeight = f.Weight,
        Histogram = f.Histogram is { } h ? new HistogramDto(h.Edges, h.Counts) : new HistogramDto(Array.Empty<double>(), Array.Empty<long>()),
        TopContexts = (f.Contexts ?? new List<TokenContext>()).Select(c => new ContextDto(c.Prompt, c.Tokens, c.Index, c.Value)).ToArray(),
    };
}

public sealed record FeatureListResponse(int Total, int Offset, string Sort, string Order, IReadOnlyList<FeatureRow> Features);

public sealed record ApiError(string Code, string Message);

public sealed record ErrorResponse(ApiError Error);

/// <summary>A client mistake: becomes an HTTP 4xx with a JSON error body.</summary>
public sealed class ApiException : Exception
{
    public int Status { get; }
    public string Code { get; }

    public ApiException(int status, string code, string message) : base(message)
    {
        Status = status;
        Code = code;
    }
}
