using Tributary.Raft.Log;

namespace Tributary.Raft.Transport;

/// <summary>A message between voters. Raft here is message-passing: every request and response travels one-way on the
/// sender's own connection, so a lost message is just a retry on the next heartbeat or election.</summary>
internal abstract record QuorumMessage(int From, int To, long Term);

/// <summary>RequestVote: a candidate asks for this voter's vote in <see cref="QuorumMessage.Term"/>.</summary>
internal sealed record VoteRequest(int From, int To, long Term, long LastIndex, long LastTerm) : QuorumMessage(From, To, Term);

internal sealed record VoteResponse(int From, int To, long Term, bool Granted) : QuorumMessage(From, To, Term);

/// <summary>AppendEntries: the leader's entries after <see cref="PrevIndex"/> (none for a heartbeat) and its commit index.</summary>
internal sealed record AppendRequest(int From, int To, long Term, long PrevIndex, long PrevTerm, long LeaderCommit,
    IReadOnlyList<QuorumEntry> Entries) : QuorumMessage(From, To, Term);

/// <summary>On success <see cref="Index"/> is the follower's last index known to match the leader; on failure it is the
/// index the leader should retry from.</summary>
internal sealed record AppendResponse(int From, int To, long Term, bool Success, long Index) : QuorumMessage(From, To, Term);

/// <summary>Raft's TimeoutNow (thesis §3.10): the resigning leader tells its most caught-up follower to start an
/// election at once instead of waiting for its election timer.</summary>
internal sealed record TimeoutNowRequest(int From, int To, long Term) : QuorumMessage(From, To, Term);

/// <summary>One chunk of the leader's snapshot through <see cref="LastIndex"/>, sent to a follower whose next index lies
/// below the leader's log start (Raft's InstallSnapshot; KRaft's followers pull the same with FetchSnapshot).</summary>
internal sealed record InstallSnapshotRequest(int From, int To, long Term, long LastIndex, long LastTerm, int TotalBytes, int Position,
    byte[] Chunk) : QuorumMessage(From, To, Term);

/// <summary>The follower's progress on the snapshot through <see cref="LastIndex"/>: the position it wants next; equal to
/// the snapshot's size once it is installed.</summary>
internal sealed record InstallSnapshotResponse(int From, int To, long Term, long LastIndex, int NextPosition) : QuorumMessage(From, To, Term);
