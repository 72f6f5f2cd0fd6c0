// A planted layering violation for DependencyRuleTests.The_checker_finds_planted_violations:
// "Common" (earlier) uses "Serving" (later) in a body, a signature, a lambda and a static call.
namespace SaeGuard.Tests.Architecture.Plant.Common
{
    public class Early
    {
        public object Make() => new Serving.Late();
    }

    public class BySignature
    {
        public void Take(List<Serving.Late> items) { }
    }

    public class ByLambda
    {
        public Func<object> Maker() => () => new Serving.Late();
    }

    public class ByStaticCall
    {
        public int Count() => Serving.Late.Zero();
    }
}

namespace SaeGuard.Tests.Architecture.Plant.Serving
{
    public class Late
    {
        public static int Zero() => 0;
    }

    public class UsesCommon
    {
        public object Make() => new Common.Early();
    }
}
