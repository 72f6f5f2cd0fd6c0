using System.Text.Json;
using SaeGuard.Activations;
using SaeGuard.Tests.Infrastructure;

namespace SaeGuard.Tests.Scale;

public class ShardedExtractTests : IClassFixture<ShardedCorpus>
{
    readonly ShardedCorpus _c;
    public ShardedExtractTests(ShardedCorpus c) => _c = c;

    [Fact]
    public void Four_worker_processes_merged_equal_one_process_row_for_row()
    {
        var whole = ShardedCorpus.Rows(_c.Whole);
        var merged = ShardedCorpus.Rows(_c.Merged);
        Assert.Equal(whole.Docs, merged.Docs);
        Assert.Equal(whole.Pos, merged.Pos);
        Assert.Equal(whole.Tok, merged.Tok);
        Assert.Equal(whole.Special, merged.Special);
        Assert.Equal(whole.Data.Length, merged.Data.Length);
        for (int i = 0; i < whole.Data.Length; i++)
            if (whole.Data[i] != merged.Data[i]) Assert.Fail($"value {i} (row {i / 384}) differs: {whole.Data[i]} vs {merged.Data[i]}");
        Assert.Equal(File.ReadAllLines(Path.Combine(_c.Whole, "docs.jsonl")), File.ReadAllLines(Path.Combine(_c.Merged, "docs.jsonl")));
        Assert.Equal(File.ReadAllText(Path.Combine(_c.Whole, "vocab.json")), File.ReadAllText(Path.Combine(_c.Merged, "vocab.json")));

        var wm = DumpMeta.Load(_c.Whole); var mm = DumpMeta.Load(_c.Merged);
        Assert.Equal(80, wm.NDocs);
        Assert.Equal((wm.NTokens, wm.NDocs, wm.D, wm.Dtype), (mm.NTokens, mm.NDocs, mm.D, mm.Dtype));
        Assert.Equal(Enumerable.Range(0, 4).Select(i => Path.Combine("..", $"shard-{i}")), mm.MergedFrom);
        Assert.All(mm.Shards, s => Assert.StartsWith("../shard-", s.File));
        Assert.True(ActivationDump.Open(_c.Merged).IsMerged);
    }

    [Fact]
    public void Shards_are_contiguous_token_balanced_ranges_with_corpus_doc_ids()
    {
        var marks = Enumerable.Range(0, 4).Select(i => DumpMeta.Load(_c.Shard(i)).Shard!).ToList();
        Assert.Equal(0, marks[0].FirstDoc);
        for (int i = 1; i < 4; i++) Assert.Equal(marks[i - 1].FirstDoc + marks[i - 1].Docs, marks[i].FirstDoc);
        Assert.Equal(80, marks.Sum(m => m.Docs));
        Assert.Single(marks.Select(m => m.Job).Distinct());
        long total = marks[0].CorpusTokens;
        Assert.Equal(DumpMeta.Load(_c.Whole).NTokens, total);
        // ⌊c_j·N/T⌋ assignment: every shard is within one document (≤ 48 tokens) of T/4
        Assert.All(marks, m => Assert.InRange(m.Tokens, total / 4.0 - 48, total / 4.0 + 48));
        for (int i = 0; i < 4; i++)
        {
            var ids = File.ReadLines(Path.Combine(_c.Shard(i), "docs.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(marks[i].FirstDoc, marks[i].Docs), ids);
        }
    }

    [Fact]
    public void A_finished_shard_is_not_redone_and_a_killed_one_is_redone_from_scratch()
    {
        // finished: the rerun leaves the folder untouched
        var metaPath = Path.Combine(_c.Shard(1), "meta.json");
        var before = File.ReadAllBytes(metaPath);
        var again = CliProcess.Run(new[] { "extract", "--out", _c.Shard(1), "--shard", "1/4" }.Concat(ShardedCorpus.CorpusArgs()).ToArray());
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("already complete", again.Err);
        Assert.Equal(before, File.ReadAllBytes(metaPath));

        // killed mid-extraction: nothing final is left; the rerun gives exactly the reference shard
        using var tmp = new TempDir();
        var outDir = tmp["shard-2"];
        var args = new[] { "extract", "--out", outDir, "--shard", "2/4" }.Concat(ShardedCorpus.CorpusArgs(400)).ToArray();
        var p = CliProcess.Start(args);
        var deadline = DateTime.UtcNow.AddSeconds(120);
        // Killed as soon as its temporary folder exists: on an idle machine the whole shard takes well
        // under a second, so waiting longer made the kill race the finish.
        while (!p.HasExited && DateTime.UtcNow < deadline && !Directory.EnumerateDirectories(tmp.Path, ".shard-2.tmp-*").Any())
            Thread.Sleep(5);
        Assert.False(p.HasExited, "the worker finished before it could be killed; use a larger corpus");
        p.Kill(entireProcessTree: true);
        p.WaitForExit();
        Assert.False(File.Exists(Path.Combine(outDir, "meta.json")), "a killed worker must not leave a finished shard");
        Assert.NotEmpty(Directory.GetDirectories(tmp.Path, ".shard-2.tmp-*"));

        var rerun = CliProcess.Run(args);
        Assert.True(rerun.Code == 0, rerun.Err);
        Assert.Empty(Directory.GetDirectories(tmp.Path, ".shard-2.tmp-*"));
        var reference = tmp["reference"];
        var r = CliProcess.Run(new[] { "extract", "--out", reference, "--shard", "2/4" }.Concat(ShardedCorpus.CorpusArgs(400)).ToArray());
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(File.ReadAllLines(Path.Combine(reference, "docs.jsonl")), File.ReadAllLines(Path.Combine(outDir, "docs.jsonl")));
        var a = ShardedCorpus.Rows(reference); var b = ShardedCorpus.Rows(outDir);
        Assert.Equal(a.Docs, b.Docs);
        Assert.Equal(a.Tok, b.Tok);
        Assert.Equal(a.Data, b.Data);
        var docIds = a.Docs.Distinct().ToList();
        Assert.Equal(Enumerable.Range(docIds[0], docIds.Count), docIds);   // no document lost or repeated
    }

    [Fact]
    public void Every_reader_takes_the_merged_dump()
    {
        using var tmp = new TempDir();
        var sae = tmp["sae"];
        var (code, _, err) = CliHarness.Run("train", "--acts", _c.Merged, "--out", sae, "--expansion", "2", "--k", "8", "--batch", "256", "--seed", "3");
        Assert.True(code == 0, err);
        // encode is row-wise: the merged dump's codes equal the single-process dump's
        (code, _, err) = CliHarness.Run("encode", "--acts", _c.Merged, "--sae", sae, "--out", tmp["codes-m"]);
        Assert.True(code == 0, err);
        (code, _, err) = CliHarness.Run("encode", "--acts", _c.Whole, "--sae", sae, "--out", tmp["codes-w"]);
        Assert.True(code == 0, err);
        var cm = ShardedCorpus.Rows(tmp["codes-m"]); var cw = ShardedCorpus.Rows(tmp["codes-w"]);
        Assert.Equal(cw.Data, cm.Data);
        Assert.Equal(cw.Docs, cm.Docs);
        Assert.Equal(File.ReadAllLines(Path.Combine(tmp["codes-w"], "docs.jsonl")), File.ReadAllLines(Path.Combine(tmp["codes-m"], "docs.jsonl")));
        // analyze (activations + SAE) and probe read it and see its 80 labelled documents
        (code, _, err) = CliHarness.Run("analyze", "--dump", _c.Merged, "--sae", sae, "--out", tmp["report"]);
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(tmp["report"], "diagnosis.json")));
        (code, _, err) = CliHarness.Run("probe", "--acts", _c.Merged, "--sae", sae, "--out", tmp["probe"], "--folds", "2");
        Assert.True(code == 0, err);
        using var m = JsonDocument.Parse(File.ReadAllText(Path.Combine(tmp["probe"], "metrics.json")));
        Assert.Contains("40", m.RootElement.GetProperty("n_per_class").ToString());
    }

    [Fact]
    public void Merged_dump_reads_shards_by_absolute_path_from_another_folder_tree()
    {
        using var other = new TempDir();
        var shm = Directory.Exists("/dev/shm") ? Path.Combine("/dev/shm", "saeguard-merge-" + Guid.NewGuid().ToString("N")[..8]) : other["elsewhere"];
        try
        {
            var (code, _, err) = CliHarness.Run("acts", "merge", _c.Shard(0), _c.Shard(1), _c.Shard(2), _c.Shard(3), "--out", shm, "--absolute");
            Assert.True(code == 0, err);
            var meta = DumpMeta.Load(shm);
            Assert.All(meta.Shards, s => Assert.True(Path.IsPathRooted(s.File), s.File));
            Assert.Equal(ShardedCorpus.Rows(_c.Whole).Data, ShardedCorpus.Rows(shm).Data);
            // a merge of merged dumps flattens to the same shard files
            var (code2, _, err2) = CliHarness.Run("acts", "merge", shm, "--out", other["again"]);
            Assert.True(code2 == 0, err2);
            Assert.Equal(meta.Shards.Select(s => s.Sha256), DumpMeta.Load(other["again"]).Shards.Select(s => s.Sha256));
        }
        finally { if (Directory.Exists(shm)) Directory.Delete(shm, true); }
    }
}
