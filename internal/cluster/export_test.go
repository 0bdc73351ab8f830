package cluster

import "context"

// PassShards runs one round of the node's shard loop (the leader's revision
// of the map, then the node's refresh), as Run does every ShardRefresh.
func (n *Node) PassShards(ctx context.Context) { n.shardPass(ctx) }
