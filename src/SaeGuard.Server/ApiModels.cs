using SaeGuard.Serving;

namespace SaeGuard.Server;

// Wire shapes of the HTTP API (serialised snake_case).

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
    public IReadOnlyList<TokenActivation> Tokens { get; init; } = Array.Empty<TokenActivation>();
    public bool Truncated { get; init; }
    public bool TokensTruncated { get; init; }
}

public sealed record FeatureRow(int Id, string Label, double FiringRate, double MeanWhenActive, double MaxActivation, double ProbeWeight);

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
