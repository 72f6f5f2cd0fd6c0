using System.CommandLine;
using SaeGuard.Activations;
using SaeGuard.Common;

namespace SaeGuard.Cli.Commands;

/// <summary><c>acts merge</c>: one dump over the shards of many (SPEC.md "merged acts/").</summary>
static class ActsCommand
{
    public static Command Create()
    {
        var cmd = new Command("acts", "Activation dumps: merge the shard folders of a sharded extraction into one dump.");
        cmd.Subcommands.Add(Merge());
        return cmd;
    }

    static Command Merge()
    {
        var dirs = new Argument<string[]>("DIR") { Description = "Dump folders (e.g. the --shard i/N outputs), merged in shard order or as given.", Arity = ArgumentArity.OneOrMore };
        var output = CommonOptions.Required("--out", "Merged dump folder: a meta.json referencing the inputs' shards (no row is copied), docs.jsonl, vocab.json.");
        var absolute = new Option<bool>("--absolute") { Description = "Reference shards by absolute path (default: relative to --out, absolute only across drives)." };
        var json = CommonOptions.Json();
        var force = CommonOptions.Force();
        var cmd = new Command("merge", "Merge dumps of one model/layer into one dump without copying rows; checks sha256 and refuses mixed model, layer, hook, width, dtype or tokenizer.")
        { dirs, output, absolute, json, force };
        cmd.SetAction(p => CliRunner.Run(() =>
        {
            OutputPolicy.Folder(p.GetValue(output)!, "dump", p.GetValue(force), p.GetValue(dirs)!);
            var r = MergedDump.Merge(p.GetValue(dirs)!, p.GetValue(output)!, p.GetValue(absolute));
            Console.Error.WriteLine($"acts merge: {r.Dumps} dumps, {r.Shards} shards, {r.Tokens:N0} tokens, {r.Docs:N0} docs ({r.VerifiedBytes / 1e6:N0} MB verified) → {r.OutDir}");
            if (p.GetValue(json)) CliRunner.PrintJson(new { dumps = r.Dumps, shards = r.Shards, tokens = r.Tokens, docs = r.Docs, verified_bytes = r.VerifiedBytes, out_dir = r.OutDir });
            return 0;
        }));
        return cmd;
    }
}
