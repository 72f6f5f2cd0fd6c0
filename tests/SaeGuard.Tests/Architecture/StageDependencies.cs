using System.Reflection;
using System.Reflection.Emit;

namespace SaeGuard.Tests.Architecture;

/// <summary>
/// Which stage (namespace under a root, e.g. SaeGuard.Probes → "Probes") uses which other stage,
/// read from a compiled assembly: base types, interfaces, field, property and method signatures,
/// and every type, method and field token in the method bodies (IL), so a call, a <c>new</c>, a
/// cast or a field access all count. Compiler-generated nested types (lambdas, iterators) count
/// for the type that declares them.
/// </summary>
public static class StageDependencies
{
    const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    static readonly Dictionary<short, OperandType> Operands = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value, o => o.OperandType);

    /// <summary>The stage of a namespace under <paramref name="root"/>, or null for a type outside it.</summary>
    public static string? StageOf(Type t, string root)
    {
        while (t.DeclaringType != null) t = t.DeclaringType;
        var ns = t.Namespace;
        if (ns == null || !ns.StartsWith(root + ".", StringComparison.Ordinal)) return null;
        return ns[(root.Length + 1)..].Split('.')[0];
    }

    /// <summary>Every (from stage, to stage, from type, to type) use between two different stages of <paramref name="asm"/>.</summary>
    public static List<(string From, string To, string FromType, string ToType)> Edges(Assembly asm, string root)
    {
        var edges = new HashSet<(string, string, string, string)>();
        foreach (var type in asm.GetTypes())
        {
            var from = StageOf(type, root);
            if (from == null) continue;
            var outer = type;
            while (outer.DeclaringType != null) outer = outer.DeclaringType;
            void Use(Type? t)
            {
                foreach (var u in Expand(t))
                {
                    var to = StageOf(u, root);
                    if (to != null && to != from) edges.Add((from, to, outer.FullName!, u.FullName ?? u.Name));
                }
            }
            foreach (var t in Uses(type)) Use(t);
        }
        return edges.OrderBy(e => e.Item1).ThenBy(e => e.Item2).ThenBy(e => e.Item3).ToList();
    }

    /// <summary>Uses that break the order: a stage using one listed after it (stages on one line, "A/B", are peers).</summary>
    public static List<string> Violations(IEnumerable<(string From, string To, string FromType, string ToType)> edges, IReadOnlyList<string> order)
    {
        var rank = new Dictionary<string, int>();
        for (int i = 0; i < order.Count; i++)
            foreach (var s in order[i].Split('/')) rank[s] = i;
        var bad = new List<string>();
        foreach (var e in edges)
        {
            if (!rank.TryGetValue(e.From, out var rf)) { bad.Add($"stage '{e.From}' ({e.FromType}) is not in the order"); continue; }
            if (!rank.TryGetValue(e.To, out var rt)) { bad.Add($"stage '{e.To}' ({e.ToType}) is not in the order"); continue; }
            if (rt > rf) bad.Add($"{e.From} → {e.To}: {e.FromType} uses {e.ToType}");
        }
        return bad.Distinct().ToList();
    }

    static IEnumerable<Type?> Uses(Type type)
    {
        yield return type.BaseType;
        foreach (var i in type.GetInterfaces()) yield return i;
        foreach (var f in type.GetFields(All)) yield return f.FieldType;
        foreach (var p in type.GetProperties(All)) yield return p.PropertyType;
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi) yield return mi.ReturnType;
            foreach (var p in m.GetParameters()) yield return p.ParameterType;
            foreach (var t in BodyUses(m)) yield return t;
        }
    }

    static IEnumerable<Type?> BodyUses(MethodBase m)
    {
        var body = m.GetMethodBody();
        if (body == null) yield break;
        foreach (var l in body.LocalVariables) yield return l.LocalType;
        var il = body.GetILAsByteArray() ?? Array.Empty<byte>();
        Type[]? typeArgs = m.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        Type[]? methodArgs = m.IsGenericMethod ? m.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short code = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var operand = Operands[code];
            if (operand is OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType)
            {
                int token = BitConverter.ToInt32(il, i);
                MemberInfo? member = null;
                try { member = m.Module.ResolveMember(token, typeArgs, methodArgs); }
                catch (ArgumentException) { }
                if (member is Type t) yield return t;
                else if (member != null)
                {
                    yield return member.DeclaringType;
                    if (member is MethodInfo { IsGenericMethod: true } gm) foreach (var a in gm.GetGenericArguments()) yield return a;
                    if (member is FieldInfo fi) yield return fi.FieldType;
                }
            }
            i += operand switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
        }
    }

    /// <summary>A type and the types it is made of (element types, generic arguments).</summary>
    static IEnumerable<Type> Expand(Type? t)
    {
        if (t == null) yield break;
        if (t.HasElementType) { foreach (var e in Expand(t.GetElementType())) yield return e; yield break; }
        if (t.IsGenericParameter) yield break;
        yield return t;
        if (t.IsGenericType)
            foreach (var a in t.GetGenericArguments())
                foreach (var e in Expand(a)) yield return e;
    }
}
