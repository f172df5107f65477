"""The models' objectives (sknn._core.protocols.Objective): the linear models' and the network's."""
