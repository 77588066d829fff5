namespace Tributary.Controller;

/// <summary>
/// The active controller as the broker hosting it calls it: commands go straight to <see cref="HandleAsync"/>, without
/// encoding, while <see cref="IsActive"/> says this node is the active controller. <see cref="QuorumController"/> is the
/// implementation; a broker that is not a voter has none and always goes over the controller channel.
/// </summary>
public interface IControllerCommandHandler
{
    /// <summary>Whether this node is the active controller right now.</summary>
    bool IsActive { get; }

    /// <summary>Decides <paramref name="command"/>; NOT_CONTROLLER (in the command's reply type) when this node is not
    /// (or stopped being) the active controller.</summary>
    Task<ControllerReply> HandleAsync(ControllerCommand command, CancellationToken cancellationToken);
}
