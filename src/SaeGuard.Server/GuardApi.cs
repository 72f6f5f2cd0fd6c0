using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using SaeGuard.Common;
using SaeGuard.Probes;
using SaeGuard.Serving;

namespace SaeGuard.Server;

/// <summary>The JSON endpoints: /healthz, /v1/info, /v1/classify, /v1/explain, /v1/features[/{id}].</summary>
sealed class GuardApi
{
    public static readonly JsonSerializerOptions Json = JsonDefaults.Line;
    static readonly string[] Sorts = { "id", "probe_weight", "abs_probe_weight", "firing_rate", "max_activation", "mean_when_active" };
    const string ClassifyShape = "{\"text\": \"…\"} or {\"texts\": [\"…\", …]}";
    const string ExplainShape = "{\"text\": \"…\", \"feature\": 12}";

    readonly LoadedGuard _guard;
    readonly GuardServerOptions _options;
    readonly MicroBatcher _batcher;
    readonly ReportFiles _probeReports;
    readonly ReportFiles _analysisReports;
    readonly int _featureCount;
    readonly ILogger _logger;

    public GuardApi(LoadedGuard guard, GuardServerOptions options, MicroBatcher batcher, ReportFiles probeReports, ReportFiles analysisReports,
        ILogger<GuardApi> logger)
    {
        _logger = logger;
        _guard = guard;
        _options = options;
        _batcher = batcher;
        _probeReports = probeReports;
        _analysisReports = analysisReports;
        _featureCount = guard.Catalog.Features.Count;
    }

    /// <param name="app">Where to map (MapSaeGuard's route group).</param>
    /// <param name="prefix">The group's prefix ("" or "/guard"), for the report links /v1/info gives.</param>
    public void Map(IEndpointRouteBuilder app, string prefix)
    {
        app.MapGet("/healthz", () => Results.Json(new { Status = "ok" }, Json));
        app.MapGet("/v1/info", () => Info(prefix));
        app.MapPost("/v1/classify", Handler(ctx => Guarded(() => Classify(ctx))));
        app.MapPost("/v1/explain", Handler(ctx => Guarded(() => Explain(ctx))));
        app.MapGet("/v1/features", Handler(ctx => Guarded(() => Task.FromResult(ListFeatures(ctx.Request.Query)))));
        app.MapGet("/v1/features/{id}", (string id) => Guarded(() => Task.FromResult(Feature(id))));
        app.MapGet("/reports/probe/{**path}", (string? path) => Report(_probeReports, path));
        app.MapGet("/reports/analysis/{**path}", (string? path) => Report(_analysisReports, path));
    }

    // A Func<HttpContext, Task<IResult>> passed as Delegate, so the result is written (not bound as a RequestDelegate).
    static Delegate Handler(Func<HttpContext, Task<IResult>> handler) => handler;

    public static IResult Error(int status, string code, string message) =>
        Results.Json(new ErrorResponse(new ApiError(code, message)), Json, statusCode: status);

    async Task<IResult> Guarded(Func<Task<IResult>> handler)
    {
        try { return await handler(); }
        catch (ApiException e) { return Error(e.Status, e.Code, e.Message); }
        catch (ServerBusyException)
        {
            _logger.LogWarning("The scoring queue is full ({Capacity} texts); answering 503.", _options.QueueCapacity);
            return Error(503, "busy", "The server is busy; retry shortly.");
        }
    }

    IResult Info(string prefix)
    {
        var info = _guard.Scorer.Info;
        return Results.Json(new
        {
            info.Model, info.Layer, info.Hook, info.Sae, info.Pooling, info.Threshold, info.MaxTokens,
            Probe = new { info.Threshold, info.Pooling, info.Metrics },
            Features = _featureCount,
            Limits = new { _options.MaxBodyBytes, _options.MaxTextsPerRequest, _options.MaxTextChars },
            Batching = new { _batcher.MaxBatch, WindowMs = _batcher.Window.TotalMilliseconds, _batcher.Batches, _batcher.Texts, _batcher.LargestBatch },
            Reports = new
            {
                Probe = _probeReports.Has("report.html") ? prefix + "/reports/probe/report.html" : null,
                Analysis = _analysisReports.Has("report.html") ? prefix + "/reports/analysis/report.html" : null,
            },
        }, Json);
    }

    async Task<IResult> Classify(HttpContext ctx)
    {
        var req = await RequestReader.ReadJson<ClassifyRequest>(ctx, _options.MaxBodyBytes, ClassifyShape);
        if ((req.Text == null) == (req.Texts == null))
            throw new ApiException(400, "invalid_request", $"Give exactly one of \"text\" and \"texts\": {ClassifyShape}.");
        var texts = req.Text != null ? new List<string?> { req.Text } : req.Texts!;
        if (texts.Count == 0) throw new ApiException(400, "no_texts", "\"texts\" is empty; give at least one text.");
        if (texts.Count > _options.MaxTextsPerRequest)
            throw new ApiException(400, "too_many_texts", $"{texts.Count} texts in one request; this server takes at most {_options.MaxTextsPerRequest}.");
        var prepared = new (string Text, int Received, bool Cut)[texts.Count];
        for (int i = 0; i < texts.Count; i++) prepared[i] = Prepare(texts[i], req.Text != null ? "text" : $"texts[{i}]");
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var verdicts = await Task.WhenAll(prepared.Select(p => _batcher.ScoreAsync(p.Text)));
        int flagged = verdicts.Count(v => v.IsHarmful);
        var elapsed = GuardMetrics.Since(start);
        GuardMetrics.Record(GuardMetrics.Sources.HttpClassify, verdicts.Length, flagged, elapsed);
        _logger.LogDebug("classify: {Texts} texts, {Flagged} flagged, {Ms:0.0} ms.", verdicts.Length, flagged, elapsed.TotalMilliseconds);
        var results = new ClassifyResult[verdicts.Length];
        for (int i = 0; i < verdicts.Length; i++)
        {
            var v = verdicts[i];
            results[i] = new ClassifyResult
            {
                Index = i, Score = v.Score, Label = v.Label, Threshold = v.Threshold, TopFeatures = v.TopFeatures,
                NegativeFeatures = v.NegativeFeatures, Offset = v.Offset, SaeResidual = v.Residual,
                Truncated = prepared[i].Cut, CharsScored = prepared[i].Text.Length, CharsReceived = prepared[i].Received,
                Tokens = v.Tokens, TokensTruncated = v.TokensTruncated,
            };
        }
        return Results.Json(new ClassifyResponse(_guard.Scorer.Info.Model, results, prepared.Count(p => p.Cut)), Json);
    }

    async Task<IResult> Explain(HttpContext ctx)
    {
        var req = await RequestReader.ReadJson<ExplainRequest>(ctx, _options.MaxBodyBytes, ExplainShape);
        var (text, _, cut) = Prepare(req.Text, "text");
        int feature;
        if (req.Feature is int f)
        {
            if (f < 0 || f >= _guard.Scorer.Info.Sae.DSae)
                throw new ApiException(400, "unknown_feature", $"Feature {f} does not exist: feature ids run from 0 to {_guard.Scorer.Info.Sae.DSae - 1}.");
            feature = f;
        }
        else
        {
            var verdict = await _batcher.ScoreAsync(text);
            if (verdict.TopFeatures.Count == 0)
                throw new ApiException(400, "no_active_feature", "No feature contributes to this text's verdict; name one with \"feature\".");
            feature = verdict.TopFeatures[0].Id;
        }
        var acts = await _guard.Scorer.ExplainAsync(text, feature, ctx.RequestAborted);
        return Results.Json(new ExplainResponse
        {
            Feature = feature,
            Label = _guard.Catalog.Get(feature)?.Label ?? "",
            MaxActivation = acts.Tokens.Count == 0 ? 0 : acts.Tokens.Max(t => t.Activations[0]),
            Tokens = ExplainToken.From(acts),
            Truncated = cut,
            TokensTruncated = acts.Truncated,
        }, Json);
    }

    (string Text, int Received, bool Cut) Prepare(string? text, string where)
    {
        if (text == null) throw new ApiException(400, "missing_text", $"{where} is missing or null; expected a string.");
        if (string.IsNullOrWhiteSpace(text)) throw new ApiException(400, "empty_text", $"{where} is empty; give some text to score.");
        if (text.Length <= _options.MaxTextChars) return (text, text.Length, false);
        int cut = _options.MaxTextChars;
        if (char.IsHighSurrogate(text[cut - 1])) cut--;
        return (text[..cut], text.Length, true);
    }

    IResult ListFeatures(IQueryCollection query)
    {
        var sort = query["sort"].FirstOrDefault() ?? "abs_probe_weight";
        if (!Sorts.Contains(sort))
            throw new ApiException(400, "invalid_sort", $"sort must be one of {string.Join(", ", Sorts)}.");
        var order = query["order"].FirstOrDefault() ?? (sort == "id" ? "asc" : "desc");
        if (order is not ("asc" or "desc")) throw new ApiException(400, "invalid_order", "order must be asc or desc.");
        int offset = IntParam(query, "offset", 0, 0, int.MaxValue);
        int limit = IntParam(query, "limit", 100, 1, 1000);
        Func<FeatureInfo, double> key = sort switch
        {
            "probe_weight" => f => f.Weight,
            "abs_probe_weight" => f => Math.Abs(f.Weight),
            "firing_rate" => f => f.FiringRate,
            "max_activation" => f => f.MaxActivation,
            "mean_when_active" => f => f.MeanWhenActive,
            _ => f => f.Id,
        };
        IEnumerable<FeatureInfo> all = _guard.Catalog.Features;
        var sorted = order == "asc" ? all.OrderBy(key).ThenBy(f => f.Id) : all.OrderByDescending(key).ThenBy(f => f.Id);
        var rows = sorted.Skip(offset).Take(limit)
            .Select(FeatureRow.From).ToArray();
        return Results.Json(new FeatureListResponse(_featureCount, offset, sort, order, rows), Json);
    }

    static int IntParam(IQueryCollection query, string name, int fallback, int min, int max)
    {
        var raw = query[name].FirstOrDefault();
        if (raw == null) return fallback;
        if (!int.TryParse(raw, out var v) || v < min || v > max)
            throw new ApiException(400, $"invalid_{name}", $"{name} must be an integer from {min} to {max}.");
        return v;
    }

    IResult Feature(string id)
    {
        if (!int.TryParse(id, System.Globalization.NumberStyles.None, null, out var n))
            throw new ApiException(400, "invalid_feature_id", "A feature id is a non-negative integer.");
        var f = _guard.Catalog.Get(n)
                ?? throw new ApiException(404, "unknown_feature", $"Feature {n} does not exist (this guard describes {_featureCount} features).");
        return Results.Json(FeatureDetail.From(f), Json);
    }

    static IResult Report(ReportFiles files, string? path)
    {
        var full = files.PathOf(path ?? "");
        return full == null
            ? Error(404, "not_found", "No such report file.")
            : Results.File(full, ContentTypes.For(full));
    }
}
