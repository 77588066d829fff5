using Xunit.Abstractions;
using Xunit.Sdk;

namespace Tributary.Operator.E2E.Harness;

/// <summary>The position of a test in a scenario whose steps build on one cluster (install, then topics, then a roll…).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class StepAttribute(int number) : Attribute
{
    public int Number { get; } = number;
}

/// <summary>Runs a class's tests in <see cref="StepAttribute"/> order.</summary>
public sealed class StepOrderer : ITestCaseOrderer
{
    public const string TypeName = "Tributary.Operator.E2E.Harness.StepOrderer";
    public const string AssemblyName = "Tributary.Operator.E2E";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases) where TTestCase : ITestCase =>
        testCases.OrderBy(t => t.TestMethod.Method.GetCustomAttributes(typeof(StepAttribute).AssemblyQualifiedName!)
            .Select(a => (int)a.GetConstructorArguments().First()).DefaultIfEmpty(int.MaxValue).First());
}
