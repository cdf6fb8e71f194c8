package synth

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// LinkType is the framing a packet gets below IP. Several synth link types
// share one pcap DLT (Ethernet, VLAN and QinQ are all DLT_EN10MB); pcapng
// output gets one interface per synth link type.
type LinkType uint8

const (
	Ethernet LinkType = iota // Ethernet II
	VLAN                     // Ethernet with one 802.1Q tag (VLAN 100)
	QinQ                     // Ethernet with an 802.1ad outer tag (VLAN 200) and an 802.1Q inner tag (VLAN 100)
	RawIP                    // LINKTYPE_RAW: the packet starts with the IP header
	SLL                      // Linux cooked capture v1 (LINKTYPE_LINUX_SLL), as "tcpdump -i any" writes
	SLL2                     // Linux cooked capture v2 (LINKTYPE_LINUX_SLL2)
	Null                     // BSD loopback (LINKTYPE_NULL): a 4-byte address family in host order, little-endian here
	numLinkTypes
)

// VLAN identifiers used by the VLAN and QinQ link types.
const (
	InnerVLAN = 100
	OuterVLAN = 200
)

var linkNames = [numLinkTypes]string{"Ethernet", "VLAN", "QinQ", "RawIP", "SLL", "SLL2", "Null"}

func (l LinkType) String() string {
	if l < numLinkTypes {
		return linkNames[l]
	}
	return fmt.Sprintf("LinkType(%d)", uint8(l))
}

// DLT returns the pcap/pcapng link-layer header type number.
func (l LinkType) DLT() layers.LinkType {
	switch l {
	case Ethernet, VLAN, QinQ:
		return layers.LinkTypeEthernet
	case RawIP:
		return layers.LinkTypeRaw
	case SLL:
		return layers.LinkTypeLinuxSLL
	case SLL2:
		return layers.LinkTypeLinuxSLL2
	case Null:
		return layers.LinkTypeNull
	}
	return layers.LinkTypeEthernet
}

func (l LinkType) valid() bool { return l < numLinkTypes }

// macFor derives a locally administered MAC address from an IP address so
// every host keeps one stable address without a configuration table.
func macFor(a netip.Addr) net.HardwareAddr {
	b := a.As16()
	return net.HardwareAddr{0x02, 0x00, b[12], b[13], b[14], b[15]}
}

// linkLayers returns the layers to serialize in front of an IP packet.
// outgoing tells cooked captures the direction as seen from the client host.
func linkLayers(l LinkType, v6 bool, src, dst netip.Addr, outgoing bool) []gopacket.SerializableLayer {
	ipType := layers.EthernetTypeIPv4
	if v6 {
		ipType = layers.EthernetTypeIPv6
	}
	switch l {
	case Ethernet:
		return []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: macFor(src), DstMAC: macFor(dst), EthernetType: ipType}}
	case VLAN:
		return []gopacket.SerializableLayer{
			&layers.Ethernet{SrcMAC: macFor(src), DstMAC: macFor(dst), EthernetType: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: InnerVLAN, Type: ipType},
		}
	case QinQ:
		return []gopacket.SerializableLayer{
			&layers.Ethernet{SrcMAC: macFor(src), DstMAC: macFor(dst), EthernetType: layers.EthernetTypeQinQ},
			&layers.Dot1Q{VLANIdentifier: OuterVLAN, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: InnerVLAN, Type: ipType},
		}
	case SLL:
		return []gopacket.SerializableLayer{&cookedHeader{v2: false, proto: ipType, addr: macFor(src), outgoing: outgoing}}
	case SLL2:
		return []gopacket.SerializableLayer{&cookedHeader{v2: true, proto: ipType, addr: macFor(src), outgoing: outgoing}}
	case Null:
		family := layers.ProtocolFamilyIPv4
		if v6 {
			family = layers.ProtocolFamilyIPv6BSD
		}
		return []gopacket.SerializableLayer{&layers.Loopback{Family: family}}
	}
	return nil // RawIP
}

// cookedHeader serializes the Linux SLL and SLL2 pseudo-headers, which
// gopacket can decode but not serialize.
type cookedHeader struct {
	v2       bool
	proto    layers.EthernetType
	addr     net.HardwareAddr
	outgoing bool
}

func (h *cookedHeader) LayerType() gopacket.LayerType {
	if h.v2 {
		return layers.LayerTypeLinuxSLL2
	}
	return layers.LayerTypeLinuxSLL
}

// Packet types from linux/if_packet.h.
const (
	packetHost     = 0
	packetOutgoing = 4
)

func (h *cookedHeader) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	pktType := uint16(packetHost)
	if h.outgoing {
		pktType = packetOutgoing
	}
	if !h.v2 {
		// SLL: packet type, ARPHRD type, address length, 8 address bytes, protocol.
		p, err := b.PrependBytes(16)
		if err != nil {
			return err
		}
		clear(p)
		binary.BigEndian.PutUint16(p[0:], pktType)
		binary.BigEndian.PutUint16(p[2:], uint16(layers.ARPHardwareTypeEthernet))
		binary.BigEndian.PutUint16(p[4:], uint16(len(h.addr)))
		copy(p[6:14], h.addr)
		binary.BigEndian.PutUint16(p[14:], uint16(h.proto))
		return nil
	}
	// SLL2: protocol, reserved, interface index, ARPHRD type, packet type,
	// address length, 8 address bytes.
	p, err := b.PrependBytes(20)
	if err != nil {
		return err
	}
	clear(p)
	binary.BigEndian.PutUint16(p[0:], uint16(h.proto))
	binary.BigEndian.PutUint32(p[4:], 1) // interface index
	binary.BigEndian.PutUint16(p[8:], uint16(layers.ARPHardwareTypeEthernet))
	p[10] = byte(pktType)
	p[11] = byte(len(h.addr))
	copy(p[12:20], h.addr)
	return nil
}
