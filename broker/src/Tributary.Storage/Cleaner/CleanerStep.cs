namespace Tributary.Storage.Cleaner;

/// <summary>The steps of the segment swap protocol; tests inject a simulated crash at each one.</summary>
public enum CleanerStep
{
    /// <summary>The cleaned segment is written and fsynced as <c>.cleaned</c>; nothing is committed yet.</summary>
    BeforeSwapRename,

    /// <summary>Renamed to <c>.swap</c>: from here on recovery completes the replacement.</summary>
    SwapCommitted,

    /// <summary>The first replaced segment is deleted, the others still exist.</summary>
    OldSegmentsPartlyDeleted,

    /// <summary>All replaced segments are deleted; the swap file is not renamed yet.</summary>
    OldSegmentsDeleted,

    /// <summary>The swap file has its final name; only the in-memory segment list is still old.</summary>
    SwapRenamed,
}
