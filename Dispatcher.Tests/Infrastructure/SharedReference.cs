namespace Dispatcher.Testing;

/// <summary>
/// The providers' specs live in shared/reference beside the repository, never in it. Tests that
/// need one find it by walking up from the test binaries, and skip where it is absent.
/// </summary>
public static class SharedReference
{
    public static string? Find(string fileName)
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "shared", "reference", fileName);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>A fact that is skipped where shared/reference/<c>fileName</c> is not found.</summary>
public sealed class SpecFactAttribute : FactAttribute
{
    public SpecFactAttribute(string fileName)
    {
        if (SharedReference.Find(fileName) is null)
            Skip = $"shared/reference/{fileName} not found in any folder above {AppContext.BaseDirectory}";
    }
}
